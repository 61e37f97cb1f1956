//! `deploy`, `get`, `describe`, `delete`, `logs`, `invoke`: model endpoints. Flags become the
//! library's input types (`deploy::spec`), every value is checked before any command runs, and
//! results go through `Ui` (text, or `-o json|yaml`).

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{json, Value};

use crate::deploy::apply::{self, DeployOptions, DeployReport, Outcome};
use crate::deploy::check;
use crate::deploy::cluster;
use crate::deploy::diagnose;
use crate::deploy::kind::ModelKind;
use crate::deploy::spec::{self, Autoscaling, CustomInput, JumpStartInput, ModelSource};
use crate::deploy::status::Summary;
use crate::deploy::watch::{self, DeleteResult};
use crate::error::{Error, Result};
use crate::time::human;
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
    let what = format!("{} {}/{}", r.kind.singular(), r.namespace, r.name);
    let Some(err) = r.error() else {
        let text = match r.outcome {
            Outcome::Complete => {
                let s = r
                    .status
                    .as_ref()
                    .map(Summary::state_text)
                    .unwrap_or_default();
                format!(
                    "{} {what} is serving ({s}){} [{}]\n",
                    ctx.ui.green("✓"),
                    r.waited_seconds
                        .map(|w| format!(" after {w}s"))
                        .unwrap_or_default(),
                    match r.action {
                        apply::Action::Created => "created",
                        apply::Action::Updated => "updated",
                        apply::Action::Unchanged => "unchanged: nothing was applied",
                    }
                )
            }
            _ => format!(
                "{what} {} (not waiting; follow it with `kubectl hyperpod describe {} -n {}`)\n",
                match r.action {
                    apply::Action::Created => "created",
                    apply::Action::Updated => "updated",
                    apply::Action::Unchanged => "unchanged",
                },
                r.name,
                r.namespace
            ),
        };
        ctx.ui.result(r, || text)?;
        return Ok(0);
    };
    // The error's hint is printed by main; do not repeat it in the diagnosis.
    let diagnosis = r.diagnostics.as_ref().map(|d| {
        let skip = usize::from(err.hint().is_some() && err.hint() == d.hints.first().cloned());
        diagnose::text(d, &r.name, skip)
    });
    fail_with_report(ctx, err, r, diagnosis)
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

#[derive(Serialize)]
struct DeleteReport {
    kind: ModelKind,
    name: String,
    namespace: String,
    /// True once the resource is gone; false with --no-wait (deletion asked for) or --dry-run.
    deleted: bool,
    dry_run: bool,
    waited_seconds: Option<f64>,
    status: Option<Summary>,
}

pub fn delete(a: DeleteArgs, ctx: &Ctx) -> Result<i32> {
    let ns = a.ns.get()?;
    check::model_name("NAME", &a.name)?;
    let timeout = a
        .timeout
        .as_deref()
        .map(|t| spec::parse_duration("--timeout", t))
        .transpose()?
        .unwrap_or(600);
    require(&[(Tool::Kubectl, "delete model resources")])?;
    let (kind, obj) = cluster::find(ctx, &ns, &a.name, a.kind.map(KindArg::to_lib))?;
    let what = format!("{} {ns}/{}", kind.singular(), a.name);
    let mut report = DeleteReport {
        kind,
        name: a.name.clone(),
        namespace: ns.clone(),
        deleted: false,
        dry_run: ctx.dry_run,
        waited_seconds: None,
        status: Some(Summary::of(kind, &obj)),
    };
    if ctx.dry_run {
        ctx.ui
            .result(&report, || format!("would delete {what}\n"))?;
        return Ok(0);
    }
    let cmd = ctx
        .kube
        .kubectl(
            format!("delete {what}"),
            &[
                "delete",
                kind.resource(),
                &a.name,
                "-n",
                &ns,
                "--wait=false",
            ],
        )
        .mutating();
    let out = ctx.runner.run_unchecked(&cmd)?;
    if !out.success() && !crate::tools::kube::is_not_found(&out) {
        return Err(crate::exec::command_error(&cmd, &out));
    }
    if a.no_wait {
        ctx.ui.result(&report, || {
            format!("deletion of {what} requested (not waiting for the operator to release it)\n")
        })?;
        return Ok(0);
    }
    ctx.ui.progress(&format!(
        "waiting for the operator to release {what} (up to {})",
        human(timeout as i64)
    ));
    let (res, took) = watch::wait_deleted(ctx, kind, &ns, &a.name, Duration::from_secs(timeout))?;
    report.waited_seconds = Some((took.as_secs_f64() * 10.0).round() / 10.0);
    match res {
        DeleteResult::Gone => {
            report.deleted = true;
            report.status = None;
            ctx.ui.result(&report, || {
                format!(
                    "{} {what} deleted after {:.1}s\n",
                    ctx.ui.green("✓"),
                    took.as_secs_f64()
                )
            })?;
            Ok(0)
        }
        DeleteResult::Failed(o) | DeleteResult::TimedOut(Some(o)) if o.is_object() => {
            let s = Summary::of(kind, &o);
            let timed_out = matches!(s.state.as_deref(), Some(st) if st != "DeletionFailed");
            let err = if timed_out {
                Error::TimedOut {
                    what: format!("{what} to be deleted"),
                    seconds: timeout,
                    last_state: s.state_text(),
                }
            } else {
                Error::failed(
                    format!(
                        "deletion of {what} failed: {}",
                        [s.reason.clone(), s.message.clone()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(": ")
                    ),
                    Some(format!(
                        "read the operator's logs: `kubectl hyperpod logs --operator`; the finalizers are {}",
                        o.pointer("/metadata/finalizers").map(|f| f.to_string()).unwrap_or_else(|| "[]".into())
                    )),
                )
            };
            report.status = Some(s);
            fail_with_report(ctx, err, &report, None)
        }
        _ => {
            let err = Error::TimedOut {
                what: format!("{what} to be deleted"),
                seconds: timeout,
                last_state: "unknown".into(),
            };
            fail_with_report(ctx, err, &report, None)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// logs

#[derive(Serialize)]
struct LogStream {
    pod: String,
    container: String,
    text: String,
}

fn containers_of(pod: &Value, only: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = ["/spec/initContainers", "/spec/containers"]
        .iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    if let Some(o) = only {
        names.retain(|n| n == o);
    }
    names
}

pub fn logs(a: LogsArgs, ctx: &Ctx) -> Result<i32> {
    let (ns, selector, what) = if a.operator {
        (
            crate::setup::names::OPERATOR_NAMESPACE.to_string(),
            crate::setup::names::OPERATOR_POD_SELECTOR.to_string(),
            "the inference operator".to_string(),
        )
    } else {
        let ns = a.ns.get()?;
        let name = a.name.clone().unwrap_or_default();
        check::model_name("NAME", &name)?;
        (ns, cluster::model_selector(&name), format!("model {name}"))
    };
    if let Some(c) = &a.container {
        validate::k8s_label_name("--container", c)?;
    }
    if let Some(t) = a.tail {
        if t < -1 {
            return Err(Error::invalid(
                "--tail",
                format!("must be -1 (all) or more (got {t})"),
            ));
        }
    }
    let since = a
        .since
        .as_deref()
        .map(|s| spec::parse_duration("--since", s).map(|x| format!("{x}s")))
        .transpose()?;
    require(&[(Tool::Kubectl, "read pod logs")])?;
    let mut common: Vec<String> = vec![
        "-n".into(),
        ns.clone(),
        format!("--tail={}", a.tail.unwrap_or(-1)),
    ];
    if let Some(s) = &since {
        common.push(format!("--since={s}"));
    }
    if a.previous {
        common.push("--previous".into());
    }
    let pods = cluster::pods(ctx, &ns, &selector)?;
    if pods.is_empty() {
        return Err(Error::failed(
            format!("no pods of {what} in namespace {ns} (label {selector})"),
            Some(if a.operator {
                "is the operator installed? `kubectl hyperpod doctor`".into()
            } else {
                "the operator creates them once it deploys the model: `kubectl hyperpod describe NAME`"
                    .into()
            }),
        ));
    }
    if a.follow {
        return follow_logs(ctx, &selector, &common, a.container.as_deref());
    }
    let mut streams = Vec::new();
    for p in &pods {
        let pod = p
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        for c in containers_of(p, a.container.as_deref()) {
            let mut args: Vec<String> =
                vec!["logs".into(), pod.to_string(), "-c".into(), c.clone()];
            args.extend(common.iter().cloned());
            let cmd = ctx
                .kube
                .kubectl(format!("read the logs of {pod}/{c}"), &args);
            let out = ctx.runner.run_unchecked(&cmd)?;
            let text = if out.success() {
                out.stdout
            } else if a.previous
                || out.stderr.contains("waiting to start")
                || out.stderr.contains("PodInitializing")
            {
                // No log (yet): say so in place rather than failing the whole command.
                format!("(no log: {})\n", crate::exec::stderr_tail(&out.stderr))
            } else {
                return Err(crate::exec::command_error(&cmd, &out));
            };
            streams.push(LogStream {
                pod: pod.to_string(),
                container: c,
                text,
            });
        }
    }
    let data = json!({ "logs": streams });
    ctx.ui.result(&data, || {
        if streams.len() == 1 {
            return streams[0].text.clone();
        }
        let mut out = String::new();
        for s in &streams {
            for l in s.text.lines() {
                out.push_str(&format!("[{}/{}] {l}\n", s.pod, s.container));
            }
        }
        out
    })?;
    Ok(0)
}

fn follow_logs(
    ctx: &Ctx,
    selector: &str,
    common: &[String],
    container: Option<&str>,
) -> Result<i32> {
    let mut args: Vec<String> = vec![
        "logs".into(),
        "-f".into(),
        "-l".into(),
        selector.to_string(),
        "--prefix".into(),
        "--max-log-requests=20".into(),
    ];
    match container {
        Some(c) => args.extend(["-c".to_string(), c.to_string()]),
        None => args.push("--all-containers".into()),
    }
    args.extend(common.iter().cloned());
    let cmd = ctx.kube.kubectl("follow the logs", &args);
    let mut stream = ctx.runner.stream(&cmd)?;
    let json = ctx.ui.format != Format::Text;
    use std::io::Write as _;
    loop {
        match stream.next(Duration::from_secs(3600)) {
            crate::exec::StreamEvent::Line(l) => {
                let mut o = std::io::stdout().lock();
                let line = if json {
                    // `[pod/NAME/CONTAINER] text`, one JSON object per line.
                    let (src, text) = match l.strip_prefix('[').and_then(|r| r.split_once("] ")) {
                        Some((src, text)) => (src.to_string(), text.to_string()),
                        None => (String::new(), l.clone()),
                    };
                    let mut parts = src.trim_start_matches("pod/").splitn(2, '/');
                    json!({"pod": parts.next().unwrap_or(""), "container": parts.next().unwrap_or(""), "line": text}).to_string()
                } else {
                    l
                };
                if writeln!(o, "{line}").and_then(|_| o.flush()).is_err() {
                    break;
                }
            }
            crate::exec::StreamEvent::Idle => {}
            crate::exec::StreamEvent::Closed => break,
        }
    }
    let out = stream.finish()?;
    if out.code != 0 && out.code != -1 {
        return Err(crate::exec::command_error(&cmd, &out));
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// invoke

/// SageMaker real-time endpoints take at most 6 MB per request.
const MAX_BODY: usize = 6 * 1024 * 1024;

#[derive(Serialize)]
struct InvokeResult {
    name: String,
    namespace: String,
    endpoint: String,
    region: Option<String>,
    content_type: Option<String>,
    invoked_production_variant: Option<String>,
    body: Value,
}

pub fn invoke(a: InvokeArgs, ctx: &Ctx) -> Result<i32> {
    let ns = a.ns.get()?;
    check::model_name("NAME", &a.name)?;
    let body = match (&a.body, &a.body_file) {
        (Some(b), _) => b.clone().into_bytes(),
        (None, Some(f)) => std::fs::read(f)
            .map_err(|e| Error::invalid("--body-file", format!("cannot read {f}: {e}")))?,
        (None, None) => {
            return Err(Error::invalid(
                "--body",
                "give --body JSON or --body-file FILE",
            ))
        }
    };
    let field = if a.body.is_some() {
        "--body"
    } else {
        "--body-file"
    };
    if body.len() > MAX_BODY {
        return Err(Error::invalid(
            field,
            "must be at most 6 MB (the SageMaker limit)",
        ));
    }
    let ct = a.content_type.as_str();
    let ct_ok =
        ct.len() <= 256 && ct.contains('/') && ct.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if !ct_ok {
        return Err(Error::invalid(
            "--content-type",
            format!(
                "must be a MIME type such as application/json (got {})",
                validate::quote(ct)
            ),
        ));
    }
    if ct.starts_with("application/json") {
        if let Err(e) = serde_json::from_slice::<Value>(&body) {
            return Err(Error::invalid(
                field,
                format!("must be JSON (content type {ct}): {e}"),
            ));
        }
    }
    require(&[
        (Tool::Kubectl, "find the model's SageMaker endpoint"),
        (Tool::Aws, "invoke the SageMaker endpoint"),
    ])?;
    let (kind, obj) = cluster::find(ctx, &ns, &a.name, a.kind.map(KindArg::to_lib))?;
    let s = Summary::of(kind, &obj);
    let what = format!("{} {ns}/{}", kind.singular(), a.name);
    let Some(endpoint) = s.endpoint_name.clone() else {
        return Err(Error::failed(
            format!("{what} has no SageMaker endpoint (it was deployed without an endpoint name)"),
            Some("redeploy it with --endpoint-name NAME to invoke it through SageMaker".into()),
        ));
    };
    if s.endpoint_state.as_deref() != Some(crate::deploy::status::ENDPOINT_READY) {
        return Err(Error::failed(
            format!(
                "the SageMaker endpoint {endpoint} of {what} is not InService yet (endpoint state: {}; deployment: {})",
                s.endpoint_state.as_deref().unwrap_or("not created yet"),
                s.state.as_deref().unwrap_or("no status yet")
            ),
            Some(format!(
                "wait for it with `kubectl hyperpod describe {} -n {ns}`, or redeploy with `kubectl hyperpod deploy` (it waits)",
                a.name
            )),
        ));
    }
    // The endpoint lives where its ARN says; else the user's region.
    let region = s
        .endpoint_arn
        .as_deref()
        .and_then(|arn| arn.split(':').nth(3))
        .filter(|r| validate::region("endpointArn", r).is_ok())
        .map(str::to_string)
        .or_else(|| ctx.aws.region.clone());
    let dir = tempfile::tempdir().map_err(|e| Error::io("create a temporary directory", e))?;
    let body_path = dir.path().join("body");
    let out_path = dir.path().join("response");
    std::fs::write(&body_path, &body).map_err(|e| Error::io("write the request body", e))?;
    // fileb:// keeps the body out of argv and away from the CLI's own file:// interpretation.
    let mut aws = ctx.aws.clone();
    aws.region = region.clone();
    let cmd = aws.cmd(
        format!("invoke the SageMaker endpoint {endpoint}"),
        &[
            "sagemaker-runtime".to_string(),
            "invoke-endpoint".to_string(),
            "--endpoint-name".to_string(),
            endpoint.clone(),
            "--content-type".to_string(),
            ct.to_string(),
            "--body".to_string(),
            format!("fileb://{}", body_path.display()),
            out_path.display().to_string(),
        ],
    );
    let out = ctx.runner.run_unchecked(&cmd)?;
    if !out.success() {
        let code = crate::tools::aws::error_code(&out.stderr).unwrap_or("");
        if code == "ValidationException" && out.stderr.contains("not found") {
            return Err(Error::failed(
                format!(
                    "the SageMaker endpoint {endpoint} does not exist in {}",
                    region.as_deref().unwrap_or("the default region")
                ),
                Some("check --region, or `kubectl hyperpod describe` the model".into()),
            ));
        }
        return Err(crate::exec::command_error(&cmd, &out));
    }
    let meta: Value = crate::exec::parse_json(&cmd, &out.stdout)?;
    let raw = std::fs::read(&out_path).map_err(|e| Error::io("read the endpoint's response", e))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let body_v = serde_json::from_slice::<Value>(&raw).unwrap_or(Value::String(text.clone()));
    let res = InvokeResult {
        name: a.name.clone(),
        namespace: ns,
        endpoint,
        region,
        content_type: meta["ContentType"].as_str().map(str::to_string),
        invoked_production_variant: meta["InvokedProductionVariant"]
            .as_str()
            .map(str::to_string),
        body: body_v,
    };
    ctx.ui.result(&res, || {
        if text.ends_with('\n') {
            text.clone()
        } else {
            format!("{text}\n")
        }
    })?;
    Ok(0)
}
