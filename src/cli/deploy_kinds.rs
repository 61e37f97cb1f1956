//! The flags of `deploy jumpstart` and `deploy custom` (with their help headings) and their
//! conversion into the library's inputs (`deploy::resource`).

use clap::{Args, ValueEnum};

use super::deploy_features::{pairs, FeatureArgs, OverrideArgs};
use crate::deploy::resource::{
    self, Autoscaling, CustomExtras, CustomInput, JumpStartInput, ModelSource,
};
use crate::error::{Error, Result};
use crate::validate;

#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Autoscaling (CloudWatch or Prometheus trigger)")]
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
    /// Scale on a Prometheus query instead of (or besides) a CloudWatch metric
    #[arg(long, value_name = "QUERY")]
    pub prometheus_query: Option<String>,
    /// Amazon Managed Prometheus workspace for --prometheus-query,
    /// https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-ID
    #[arg(long, value_name = "URL")]
    pub prometheus_server: Option<String>,
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
            prometheus_query: self.prometheus_query.clone(),
            prometheus_server: self.prometheus_server.clone(),
        })
    }
}

/// What both kinds take after their own flags, each group under its own heading: autoscaling,
/// the shared features, and the overrides merged over the rest.
#[derive(Debug, Args, Clone)]
pub struct SharedArgs {
    #[command(flatten)]
    pub autoscaling: AutoscalingArgs,
    #[command(flatten)]
    pub features: FeatureArgs,
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// What the operator is told about the deployment besides the model: its deadline and where the
/// TLS certificate goes. Both kinds take them.
#[derive(Debug, Args, Clone)]
pub struct OperatorArgs {
    // Under the first heading, also after a flattened struct with its own (whose heading would
    // carry on to these).
    /// Deadline the operator gives the deployment: 1800, 30m, 1h [default: 3600 s]
    #[arg(long, value_name = "DURATION", help_heading = None::<&str>)]
    pub max_deploy_time: Option<String>,
    /// Where the operator writes the endpoint's TLS certificate, s3://bucket/prefix
    #[arg(long, value_name = "S3_URI", help_heading = None::<&str>)]
    pub tls_output_s3_uri: Option<String>,
}

impl OperatorArgs {
    /// `--max-deploy-time` read as a duration.
    fn max_deploy_time(&self) -> Result<Option<u64>> {
        self.max_deploy_time
            .as_deref()
            .map(|d| resource::parse_duration("--max-deploy-time", d))
            .transpose()
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
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// IAM role that downloads gated models (ARN)
    #[arg(long, value_name = "ROLE_ARN")]
    pub gated_model_role: Option<String>,
    /// A private SageMaker hub to take the model from (default: the public hub)
    #[arg(long, value_name = "NAME")]
    pub model_hub: Option<String>,
    /// GPU partition (MIG profile) to run on, e.g. mig-1g.10gb; the operator validates it
    #[arg(long, value_name = "TYPE")]
    pub accelerator_partition: Option<String>,
    /// IAM role the model server runs as (ARN)
    #[arg(long, value_name = "ROLE_ARN")]
    pub execution_role: Option<String>,
    /// Extra model configuration NAME=VALUE (repeatable; model.additionalConfigs)
    #[arg(long, value_name = "NAME=VALUE")]
    pub additional_config: Vec<String>,
    #[command(flatten)]
    pub shared: SharedArgs,
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
            tls_output_s3_uri: self.operator.tls_output_s3_uri.clone(),
            max_deploy_time: self.operator.max_deploy_time()?,
            gated_model_role: self.gated_model_role.clone(),
            autoscaling: self.shared.autoscaling.to_lib()?,
            model_hub: self.model_hub.clone(),
            accelerator_partition: self.accelerator_partition.clone(),
            execution_role: self.execution_role.clone(),
            additional_configs: pairs("--additional-config", &self.additional_config)?,
            features: self.shared.features.to_lib(Vec::new()),
            overrides: self.shared.overrides.to_lib()?,
        })
    }
}

fn parse_envs(list: &[String]) -> Result<Vec<resource::EnvVar>> {
    list.iter()
        .map(|e| resource::parse_env("--env", e))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    S3,
    Fsx,
    Huggingface,
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
    #[arg(long, value_name = "TYPE", required_unless_present = "instance_types")]
    pub instance_type: Option<String>,
    /// Instance types to try in this order, A,B (instead of --instance-type)
    #[arg(
        long,
        value_name = "A,B",
        value_delimiter = ',',
        conflicts_with = "instance_type"
    )]
    pub instance_types: Vec<String>,
    /// Tag NAME=VALUE for the endpoint's resources (repeatable)
    #[arg(long, value_name = "NAME=VALUE")]
    pub tag: Vec<String>,
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
    #[command(flatten)]
    pub operator: OperatorArgs,
    #[command(flatten)]
    pub shared: SharedArgs,
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
    /// Hugging Face model id, e.g. meta-llama/Llama-3.1-8B-Instruct (--model-source huggingface)
    #[arg(long, value_name = "ID")]
    pub hf_model_id: Option<String>,
    /// Hugging Face commit SHA to pin the model to
    #[arg(long, value_name = "SHA")]
    pub hf_commit: Option<String>,
    /// Secret holding the Hugging Face token, NAME/KEY (gated or private models)
    #[arg(long, value_name = "NAME/KEY")]
    pub hf_token_secret: Option<String>,
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
    #[arg(long, value_name = "NAME", default_value = resource::DEFAULT_VOLUME_NAME)]
    pub model_volume_name: String,
    /// Where the weights are mounted in the container
    #[arg(long, value_name = "PATH", default_value = resource::DEFAULT_MOUNT_PATH)]
    pub model_mount_path: String,
    /// The container's command, one word per use (repeatable), e.g. --worker-command python
    #[arg(long, value_name = "WORD", allow_hyphen_values = true)]
    pub worker_command: Vec<String>,
    /// The container's arguments, one per use (repeatable)
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub worker_args: Vec<String>,
    /// The container's working directory
    #[arg(long, value_name = "PATH")]
    pub working_dir: Option<String>,
    /// Another resource per replica, NAME=QUANTITY (repeatable), e.g. vpc.amazonaws.com/efa=1
    #[arg(long, value_name = "NAME=QTY")]
    pub resource: Vec<String>,
    /// Most requests the server handles at once (worker.requestLimits)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_concurrent_requests: Option<i64>,
    /// Most requests waiting in the queue (worker.requestLimits)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_queue_size: Option<i64>,
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
                self.no_hf_flags()?;
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
                self.no_hf_flags()?;
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
            SourceArg::Huggingface => {
                for (flag, v) in [
                    ("--s3-bucket", &self.s3_bucket),
                    ("--s3-region", &self.s3_region),
                    ("--fsx-file-system-id", &self.fsx_file_system_id),
                    ("--fsx-dns-name", &self.fsx_dns_name),
                    ("--fsx-mount-name", &self.fsx_mount_name),
                ] {
                    if v.is_some() {
                        return Err(Error::invalid(
                            flag,
                            "does not go with --model-source huggingface",
                        ));
                    }
                }
                let token_secret = match &self.hf_token_secret {
                    Some(t) => match t.split_once('/') {
                        Some((n, k)) if !n.is_empty() && !k.is_empty() => {
                            Some((n.to_string(), k.to_string()))
                        }
                        _ => {
                            return Err(Error::invalid(
                                "--hf-token-secret",
                                format!("must be NAME/KEY (got {})", validate::quote(t)),
                            ))
                        }
                    },
                    None => None,
                };
                ModelSource::HuggingFace {
                    model_id: self.hf_model_id.clone().ok_or_else(|| {
                        Error::invalid(
                            "--hf-model-id",
                            "is required with --model-source huggingface",
                        )
                    })?,
                    commit: self.hf_commit.clone(),
                    token_secret,
                }
            }
        })
    }

    fn no_hf_flags(&self) -> Result<()> {
        for (flag, v) in [
            ("--hf-model-id", &self.hf_model_id),
            ("--hf-commit", &self.hf_commit),
            ("--hf-token-secret", &self.hf_token_secret),
        ] {
            if v.is_some() {
                return Err(Error::invalid(
                    flag,
                    "only goes with --model-source huggingface",
                ));
            }
        }
        Ok(())
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
            instance_type: self.instance_type.clone().unwrap_or_default(),
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
            tls_output_s3_uri: self.operator.tls_output_s3_uri.clone(),
            max_deploy_time: self.operator.max_deploy_time()?,
            autoscaling: self.shared.autoscaling.to_lib()?,
            extras: CustomExtras {
                command: self.worker.worker_command.clone(),
                args: self.worker.worker_args.clone(),
                working_dir: self.worker.working_dir.clone(),
                resources: pairs("--resource", &self.worker.resource)?,
                instance_types: self.instance_types.clone(),
                max_concurrent_requests: self.worker.max_concurrent_requests,
                max_queue_size: self.worker.max_queue_size,
            },
            features: self.shared.features.to_lib(pairs("--tag", &self.tag)?),
            overrides: self.shared.overrides.to_lib()?,
        })
    }
}
