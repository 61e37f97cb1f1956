//! `deploy`, `get`, `describe`, `delete`, `logs`, `invoke`: model endpoints. Flags become the
//! library's input types (`deploy::spec`), every value is checked before any command runs, and
//! results go through `Ui` (text, or `-o json|yaml`).

use std::io::Write as _;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::deploy::apply::{self, DeployOptions, DeployReport};
use crate::deploy::check;
use crate::deploy::delete::{self, DeleteRequest};
use crate::deploy::invoke::{self, InvokeRequest};
use crate::deploy::kind::ModelKind;
use crate::deploy::logs::{self, LogLine, LogsRequest};
use crate::deploy::spec::{self, Autoscaling, CustomInput, JumpStartInput, ModelSource};
use crate::error::{Error, Result};
use crate::tools::{require, Tool};
use crate::ui::Format;
use crate::validate;
use crate::Ctx;

const DEPLOY_EXAMPLES: &str = "\
Examples:
  # The setup guide's JumpStart example, waiting until the endpoint serves
  kubectl hyperpod deploy jumpstart --name my-bert-model \\
      --model-id huggingface-eqa-bert-base-cased --instance-type ml.c5.2xlarge \\
      --endpoint-name my-bert-endpoint --env SAMPLE_ENV_VAR=sample_value --max-deploy-time 1800

  # Your own manifest (JumpStartModel or InferenceEndpointConfig), validated before it is applied
  kubectl hyperpod deploy -f custom-model.yaml

  # Only print the resource that would be applied (no cluster needed)
  kubectl hyperpod deploy jumpstart --name m --model-id huggingface-eqa-bert-base-cased \\
      --instance-type ml.g5.xlarge --dry-run -o yaml

Exit codes: 0 serving, 1 deployment failed, 2 invalid input, 3 kubectl missing,
4 a kubectl call failed, 6 timed out.";

const JUMPSTART_EXAMPLES: &str = "\
Examples:
  kubectl hyperpod deploy jumpstart --name my-bert-model \\
      --model-id huggingface-eqa-bert-base-cased --instance-type ml.c5.2xlarge \\
      --endpoint-name my-bert-endpoint --env SAMPLE_ENV_VAR=sample_value --max-deploy-time 1800

  # A gated model, autoscaled on the endpoint's invocations
  kubectl hyperpod deploy jumpstart --name llama --model-id meta-textgeneration-llama-3-8b \\
      --accept-eula --instance-type ml.g5.8xlarge --endpoint-name llama-ep \\
      --min-replicas 1 --max-replicas 4 --metric-name Invocations \\
      --metric-namespace AWS/SageMaker --metric-dimension EndpointName=llama-ep --target-value 100";

const CUSTOM_EXAMPLES: &str = "\
Examples:
  # The setup guide's custom model (adds the model volume the v1 CRD requires)
  kubectl hyperpod deploy custom --name my-custom-model --model-name llama-3-8b-instruct \\
      --endpoint-name my-custom-endpoint --instance-type ml.g5.24xlarge \\
      --invocation-endpoint v1/chat/completions --replicas 1 \\
      --model-source s3 --s3-bucket my-model-bucket --s3-region us-west-2 \\
      --model-location models/llama-3-8b --prefetch \\
      --image 763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu124 \\
      --gpus 4 --cpu 30 --memory 100Gi --container-port 8000 \\
      --env SAGEMAKER_ENV=1 --env MODEL_CACHE_ROOT=/opt/ml/model --env OPTION_ROLLING_BATCH=vllm";

const GET_EXAMPLES: &str = "\
Examples:
  kubectl hyperpod get                 # model endpoints in namespace default
  kubectl hyperpod get -A -o json      # every namespace, as JSON";

const DESCRIBE_EXAMPLES: &str = "\
Examples:
  kubectl hyperpod describe my-bert-model
  kubectl hyperpod describe my-custom-model -n models -o json";

const DELETE_EXAMPLES: &str = "\
Examples:
  kubectl hyperpod delete my-bert-model            # waits until the operator has released it
  kubectl hyperpod delete my-bert-model --no-wait";

const LOGS_EXAMPLES: &str = "\
Examples:
  kubectl hyperpod logs my-bert-model --tail 50
  kubectl hyperpod logs my-bert-model -f
  kubectl hyperpod logs --operator     # the inference operator's own logs";

const INVOKE_EXAMPLES: &str = "\
Examples:
  kubectl hyperpod invoke my-bert-model \\
      --body '{\"question\": \"What is HyperPod?\", \"context\": \"HyperPod is a SageMaker service.\"}'
  kubectl hyperpod invoke my-custom-model --body-file request.json -o json";

/// Namespace flag shared by every model command.
#[derive(Debug, Args, Clone)]
pub struct NamespaceArg {
    /// Kubernetes namespace of the model resource
    #[arg(short = 'n', long, value_name = "NAMESPACE", global = true)]
    pub namespace: Option<String>,
}

impl NamespaceArg {
    fn get(&self) -> Result<String> {
        let ns = self.namespace.clone().unwrap_or_else(|| "default".into());
        validate::k8s_label_name("--namespace", &ns)?;
        Ok(ns)
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_help = DEPLOY_EXAMPLES)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub kind: Option<DeployKind>,
    /// Deploy your own manifest: one JumpStartModel or InferenceEndpointConfig (- for stdin)
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub file: Option<String>,
    #[command(flatten)]
    pub ns: NamespaceArg,
    /// Return right after applying instead of waiting for the operator's verdict
    #[arg(long, global = true)]
    pub no_wait: bool,
    /// How long to wait: 900, 900s, 15m, 1h [default: the resource's maxDeployTimeInSeconds, 3600]
    #[arg(long, global = true, value_name = "DURATION")]
    pub timeout: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DeployKind {
    /// Deploy a SageMaker JumpStart model (JumpStartModel)
    #[command(after_help = JUMPSTART_EXAMPLES)]
    Jumpstart(Box<JumpstartArgs>),
    /// Deploy a custom model from S3 or FSx (InferenceEndpointConfig)
    #[command(after_help = CUSTOM_EXAMPLES)]
    Custom(Box<CustomArgs>),
}

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
    /// Where the model weights are
    #[arg(long, value_enum, value_name = "SOURCE", help_heading = "Model source")]
    pub model_source: SourceArg,
    /// S3 bucket of the weights (name only)
    #[arg(long, value_name = "BUCKET", help_heading = "Model source")]
    pub s3_bucket: Option<String>,
    /// Region of the S3 bucket [default: --region, $AWS_REGION]
    #[arg(long, value_name = "REGION", help_heading = "Model source")]
    pub s3_region: Option<String>,
    /// FSx for Lustre file system id, fs-...
    #[arg(long, value_name = "ID", help_heading = "Model source")]
    pub fsx_file_system_id: Option<String>,
    /// FSx DNS name
    #[arg(long, value_name = "DNS", help_heading = "Model source")]
    pub fsx_dns_name: Option<String>,
    /// FSx mount name
    #[arg(long, value_name = "NAME", help_heading = "Model source")]
    pub fsx_mount_name: Option<String>,
    /// Path of the weights inside the bucket or file system, e.g. models/llama-3-8b
    #[arg(long, value_name = "PATH", help_heading = "Model source")]
    pub model_location: Option<String>,
    /// Download the weights before the server starts
    #[arg(long, help_heading = "Model source")]
    pub prefetch: bool,
    /// Model server container image
    #[arg(long, value_name = "IMAGE", help_heading = "Worker")]
    pub image: String,
    /// CPU request, e.g. 30 or 500m
    #[arg(long, value_name = "QUANTITY", help_heading = "Worker")]
    pub cpu: Option<String>,
    /// Memory request, e.g. 100Gi
    #[arg(long, value_name = "QUANTITY", help_heading = "Worker")]
    pub memory: Option<String>,
    /// GPUs per replica (requested and limited alike)
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Worker"
    )]
    pub gpus: Option<i64>,
    /// CPU limit
    #[arg(long, value_name = "QUANTITY", help_heading = "Worker")]
    pub cpu_limit: Option<String>,
    /// Memory limit
    #[arg(long, value_name = "QUANTITY", help_heading = "Worker")]
    pub memory_limit: Option<String>,
    /// Port the model server listens on
    #[arg(
        long,
        value_name = "PORT",
        allow_negative_numbers = true,
        help_heading = "Worker"
    )]
    pub container_port: i64,
    /// Protocol of that port: http or grpc
    #[arg(
        long,
        value_name = "NAME",
        default_value = "http",
        help_heading = "Worker"
    )]
    pub port_name: String,
    /// Environment variable for the model server, KEY=VALUE (repeatable)
    #[arg(long = "env", value_name = "KEY=VALUE", help_heading = "Worker")]
    pub env: Vec<String>,
    /// Name of the volume the weights are mounted from
    #[arg(long, value_name = "NAME", default_value = spec::DEFAULT_VOLUME_NAME, help_heading = "Worker")]
    pub model_volume_name: String,
    /// Where the weights are mounted in the container
    #[arg(long, value_name = "PATH", default_value = spec::DEFAULT_MOUNT_PATH, help_heading = "Worker")]
    pub model_mount_path: String,
    /// Deadline the operator gives the deployment: 1800, 30m, 1h [default: 3600 s]
    #[arg(long, value_name = "DURATION")]
    pub max_deploy_time: Option<String>,
    /// Where the operator writes the endpoint's TLS certificate, s3://bucket/prefix
    #[arg(long, value_name = "S3_URI")]
    pub tls_output_s3_uri: Option<String>,
    #[command(flatten)]
    pub autoscaling: AutoscalingArgs,
}

impl CustomArgs {
    pub fn to_lib(&self, namespace: &str, region: Option<&str>) -> Result<CustomInput> {
        let source = match self.model_source {
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
        };
        Ok(CustomInput {
            name: self.name.clone(),
            namespace: namespace.to_string(),
            model_name: self.model_name.clone(),
            model_version: self.model_version.clone(),
            endpoint_name: self.endpoint_name.clone(),
            instance_type: self.instance_type.clone(),
            invocation_endpoint: self.invocation_endpoint.clone(),
            replicas: self.replicas,
            source,
            model_location: self.model_location.clone(),
            prefetch: self.prefetch,
            image: self.image.clone(),
            cpu: self.cpu.clone(),
            memory: self.memory.clone(),
            gpus: self.gpus,
            cpu_limit: self.cpu_limit.clone(),
            memory_limit: self.memory_limit.clone(),
            container_port: self.container_port,
            port_name: self.port_name.clone(),
            env: parse_envs(&self.env)?,
            volume_name: self.model_volume_name.clone(),
            mount_path: self.model_mount_path.clone(),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// JumpStartModel
    Jumpstart,
    /// InferenceEndpointConfig
    Custom,
}

impl KindArg {
    fn to_lib(self) -> ModelKind {
        match self {
            KindArg::Jumpstart => ModelKind::JumpStartModel,
            KindArg::Custom => ModelKind::InferenceEndpointConfig,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = GET_EXAMPLES)]
pub struct GetArgs {
    #[command(flatten)]
    pub ns: NamespaceArg,
    /// List the model endpoints of every namespace
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
}

#[derive(Debug, Args)]
#[command(after_help = DESCRIBE_EXAMPLES)]
pub struct DescribeArgs {
    /// Name of the model resource
    pub name: String,
    #[command(flatten)]
    pub ns: NamespaceArg,
    /// Which kind, when both kinds have a resource of that name
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
}

#[derive(Debug, Args)]
#[command(after_help = DELETE_EXAMPLES)]
pub struct DeleteArgs {
    /// Name of the model resource
    pub name: String,
    #[command(flatten)]
    pub ns: NamespaceArg,
    /// Which kind, when both kinds have a resource of that name
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Return right after asking for the deletion
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the operator to release it: 300, 5m [default: 10m]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = LOGS_EXAMPLES)]
pub struct LogsArgs {
    /// Name of the model resource (its pods are labelled app=NAME)
    #[arg(required_unless_present = "operator")]
    pub name: Option<String>,
    #[command(flatten)]
    pub ns: NamespaceArg,
    /// The inference operator's logs instead of a model's
    #[arg(long, conflicts_with = "name")]
    pub operator: bool,
    /// Only this container
    #[arg(short = 'c', long, value_name = "NAME")]
    pub container: Option<String>,
    /// Lines from the end of each log [default: all]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub tail: Option<i64>,
    /// Only lines newer than this: 30s, 5m, 1h
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// The previous (crashed) container's logs
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Keep printing new lines as they come
    #[arg(short = 'f', long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
#[command(after_help = INVOKE_EXAMPLES)]
pub struct InvokeArgs {
    /// Name of the model resource
    pub name: String,
    #[command(flatten)]
    pub ns: NamespaceArg,
    /// Which kind, when both kinds have a resource of that name
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Request body (JSON unless --content-type says otherwise)
    #[arg(
        long,
        value_name = "JSON",
        conflicts_with = "body_file",
        required_unless_present = "body_file"
    )]
    pub body: Option<String>,
    /// Read the request body from a file
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<String>,
    /// Content type of the request
    #[arg(long, value_name = "TYPE", default_value = "application/json")]
    pub content_type: String,
}

// ---------------------------------------------------------------------------------------------
// deploy

pub fn deploy(a: DeployArgs, ctx: &Ctx) -> Result<i32> {
    let explicit_ns = a.ns.namespace.clone();
    let ns = a.ns.get()?;
    let timeout = a
        .timeout
        .as_deref()
        .map(|t| spec::parse_duration("--timeout", t).map(Duration::from_secs))
        .transpose()?;
    let resource = match (&a.kind, &a.file) {
        (Some(DeployKind::Jumpstart(j)), _) => j.to_lib(&ns)?.render()?,
        (Some(DeployKind::Custom(c)), _) => {
            c.to_lib(&ns, ctx.aws.region.as_deref())?.render()?
        }
        (None, Some(f)) => {
            let doc = crate::deploy::manifest::read(f)?;
            crate::deploy::manifest::check_namespace(&doc, explicit_ns.as_deref())?;
            doc
        }
        (None, None) => {
            return Err(Error::invalid(
                "--filename",
                "give a manifest with -f FILE, or use `deploy jumpstart` or `deploy custom` (see --help)",
            ))
        }
    };
    let checked = check::check(resource, &ns)?;
    if ctx.dry_run {
        let yaml = crate::ui::to_yaml(&checked.resource)?;
        ctx.ui.result(&checked.resource, || yaml)?;
        return Ok(0);
    }
    require(&[(Tool::Kubectl, "apply and watch model resources")])?;
    let report = apply::deploy(
        ctx,
        &checked,
        &DeployOptions {
            wait: !a.no_wait,
            timeout,
        },
    )?;
    finish_deploy(ctx, &report)
}

fn finish_deploy(ctx: &Ctx, r: &DeployReport) -> Result<i32> {
    match r.error() {
        None => {
            ctx.ui.result(r, || r.text(&ctx.ui.green("✓")))?;
            Ok(0)
        }
        Some(err) => {
            let diagnosis = r.diagnosis_text(&err);
            fail_with_report(ctx, err, r, diagnosis)
        }
    }
}

/// A failure that comes with a report: text mode prints the diagnosis on stderr and returns
/// the error (main prints it); json/yaml print ONE document holding the error and the report.
fn fail_with_report<T: Serialize>(
    ctx: &Ctx,
    err: Error,
    report: &T,
    diagnosis: Option<String>,
) -> Result<i32> {
    match ctx.ui.format {
        Format::Text => {
            if let Some(d) = diagnosis {
                eprint!("{d}");
            }
            Err(err)
        }
        _ => {
            let mut doc = serde_json::to_value(crate::ui::ErrorDoc::new(&err))
                .map_err(|e| Error::failed(format!("could not encode JSON: {e}"), None))?;
            doc["report"] = serde_json::to_value(report)
                .map_err(|e| Error::failed(format!("could not encode JSON: {e}"), None))?;
            ctx.ui.result(&doc, String::new)?;
            Ok(err.exit_code())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// get

pub fn get(a: GetArgs, ctx: &Ctx) -> Result<i32> {
    let ns = if a.all_namespaces {
        None
    } else {
        Some(a.ns.get()?)
    };
    require(&[(Tool::Kubectl, "list model resources")])?;
    let listing = crate::deploy::list::list(ctx, ns.as_deref())?;
    if listing.no_crds {
        ctx.ui.warn("the inference operator's CRDs are not installed in this cluster (run `kubectl hyperpod setup`)");
    }
    ctx.ui.result(&listing, || listing.text())?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// describe

pub fn describe(a: DescribeArgs, ctx: &Ctx) -> Result<i32> {
    let ns = a.ns.get()?;
    check::model_name("NAME", &a.name)?;
    require(&[(Tool::Kubectl, "read model resources")])?;
    let desc = crate::deploy::describe::describe(ctx, &ns, &a.name, a.kind.map(KindArg::to_lib))?;
    ctx.ui.result(&desc, || desc.text())?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// delete

pub fn delete(a: DeleteArgs, ctx: &Ctx) -> Result<i32> {
    let namespace = a.ns.get()?;
    check::model_name("NAME", &a.name)?;
    let timeout_seconds = a
        .timeout
        .as_deref()
        .map(|t| spec::parse_duration("--timeout", t))
        .transpose()?
        .unwrap_or(delete::DEFAULT_DELETE_SECONDS);
    require(&[(Tool::Kubectl, "delete model resources")])?;
    let req = DeleteRequest {
        namespace,
        name: a.name,
        kind: a.kind.map(KindArg::to_lib),
        wait: !a.no_wait,
        timeout_seconds,
    };
    let report = delete::delete(ctx, &req)?;
    match report.error() {
        None => {
            ctx.ui.result(&report, || report.text(&ctx.ui.green("✓")))?;
            Ok(0)
        }
        Some(err) => fail_with_report(ctx, err, &report, None),
    }
}

// ---------------------------------------------------------------------------------------------
// logs

impl LogsArgs {
    fn to_lib(&self) -> Result<LogsRequest> {
        let mut req = if self.operator {
            LogsRequest::operator()
        } else {
            let ns = self.ns.get()?;
            let name = self.name.clone().unwrap_or_default();
            check::model_name("NAME", &name)?;
            LogsRequest::model(&ns, &name)
        };
        if let Some(c) = &self.container {
            validate::k8s_label_name("--container", c)?;
        }
        if let Some(t) = self.tail {
            if t < -1 {
                return Err(Error::invalid(
                    "--tail",
                    format!("must be -1 (all) or more (got {t})"),
                ));
            }
        }
        req.container = self.container.clone();
        req.tail = self.tail.unwrap_or(-1);
        req.since_seconds = self
            .since
            .as_deref()
            .map(|s| spec::parse_duration("--since", s))
            .transpose()?;
        req.previous = self.previous;
        Ok(req)
    }
}

pub fn logs(a: LogsArgs, ctx: &Ctx) -> Result<i32> {
    let req = a.to_lib()?;
    require(&[(Tool::Kubectl, "read pod logs")])?;
    if a.follow {
        let json = ctx.ui.format != Format::Text;
        logs::follow(ctx, &req, |l| {
            // -o json|yaml: one JSON object per line.
            let line = if json {
                serde_json::to_string(&LogLine::parse(&l)).unwrap_or(l)
            } else {
                l
            };
            let mut o = std::io::stdout().lock();
            writeln!(o, "{line}").and_then(|_| o.flush()).is_ok()
        })?;
        return Ok(0);
    }
    let read = logs::read(ctx, &req)?;
    ctx.ui.result(&read, || read.text())?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// invoke

pub fn invoke(a: InvokeArgs, ctx: &Ctx) -> Result<i32> {
    let namespace = a.ns.get()?;
    check::model_name("NAME", &a.name)?;
    let (body, body_field) = match (a.body, &a.body_file) {
        (Some(b), _) => (b.into_bytes(), "--body"),
        (None, Some(f)) => (
            std::fs::read(f)
                .map_err(|e| Error::invalid("--body-file", format!("cannot read {f}: {e}")))?,
            "--body-file",
        ),
        (None, None) => {
            return Err(Error::invalid(
                "--body",
                "give --body JSON or --body-file FILE",
            ))
        }
    };
    let req = InvokeRequest {
        namespace,
        name: a.name,
        kind: a.kind.map(KindArg::to_lib),
        body,
        body_field: body_field.into(),
        content_type: a.content_type,
    };
    req.check()?;
    require(&[
        (Tool::Kubectl, "find the model's SageMaker endpoint"),
        (Tool::Aws, "invoke the SageMaker endpoint"),
    ])?;
    let res = invoke::invoke(ctx, &req)?;
    ctx.ui.result(&res, || res.text())?;
    Ok(0)
}
