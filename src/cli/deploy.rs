//! `deploy`, `get`, `describe`, `delete`, `logs`, `invoke`: model endpoints. Flags become the
//! library's input types (`deploy::resource` through `deploy_kinds`, the requests of `deploy::*`),
//! every value is checked before any command runs, and results go through `Ui` (text, or
//! `-o json|yaml`).

use std::io::Write as _;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::deploy::apply::{DeployOptions, DeployReport};
use crate::deploy::check;
use crate::deploy::delete::{self, DeleteRequest};
use crate::deploy::invoke::{self, InvokeRequest};
use crate::deploy::kind::ModelKind;
use crate::deploy::logs::{self, LogLine, LogsRequest};
use crate::deploy::resource;
use crate::deploy::workflow::{self, Deployed, Deployment};
use crate::error::{Error, Result};
use crate::tools::{require, Tool};
use crate::ui::Format;
use crate::validate;
use crate::Ctx;

pub(crate) use super::deploy_kinds::{CustomArgs, JumpstartArgs};

const DEPLOY_EXAMPLES: &str = "\
Examples:
  # The setup guide's JumpStart example, waiting until the endpoint serves
  kubectl hyperpod deploy jumpstart --name my-bert-model \\
      --model-id huggingface-eqa-bert-base-cased --instance-type ml.c5.2xlarge \\
      --endpoint-name my-bert-endpoint --env SAMPLE_ENV_VAR=sample_value --max-deploy-time 1800

  # Your own manifest (JumpStartModel or InferenceEndpointConfig), validated before it is applied
  kubectl hyperpod deploy -f custom-model.yaml

  # Only print the resource that would be applied (no cluster, no tool needed)
  kubectl hyperpod deploy jumpstart --name m --model-id huggingface-eqa-bert-base-cased \\
      --instance-type ml.g5.xlarge --dry-run --offline -o yaml

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
    /// Kubernetes namespace of the model resource [default: the kubeconfig context's, as in
    /// kubectl; else default]
    #[arg(short = 'n', long, value_name = "NAMESPACE", global = true)]
    pub namespace: Option<String>,
}

impl NamespaceArg {
    /// The namespace given with `-n`, checked; `None` when not given.
    fn given(&self) -> Result<Option<String>> {
        if let Some(ns) = &self.namespace {
            validate::k8s_label_name("--namespace", ns)?;
        }
        Ok(self.namespace.clone())
    }
}

/// The namespace a model command works in: `-n`, else the kubeconfig context's (as kubectl
/// does), else `default`. Reads the kubeconfig: call it once every flag is checked.
fn namespace(given: Option<String>, ctx: &Ctx) -> Result<String> {
    if let Some(ns) = given {
        return Ok(ns);
    }
    Ok(workflow::kubeconfig_namespace(ctx)?.unwrap_or_else(|| "default".into()))
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
    /// Do not check, before creating the model, that its instance type is one of the HyperPod
    /// cluster's instance groups, one the JumpStart model supports and one with schedulable nodes
    /// with enough GPUs, nor that the S3 CSI driver's role can read an S3 model's bucket
    #[arg(long, global = true)]
    pub skip_placement_check: bool,
    /// HyperPod cluster whose instance groups the placement check uses [default: the one setup
    /// recorded on the cluster; without either, the instance groups are not checked]
    #[arg(long, global = true, value_name = "NAME")]
    pub hyperpod_cluster: Option<String>,
    /// With --dry-run: render and validate only, with no tool and no cluster at all
    #[arg(long, global = true)]
    pub offline: bool,
}

#[derive(Debug, Subcommand)]
pub enum DeployKind {
    /// Deploy a SageMaker JumpStart model (JumpStartModel)
    #[command(after_help = JUMPSTART_EXAMPLES)]
    Jumpstart(Box<JumpstartArgs>),
    /// Deploy a custom model from S3, FSx or Hugging Face (InferenceEndpointConfig)
    #[command(after_help = CUSTOM_EXAMPLES)]
    Custom(Box<CustomArgs>),
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

pub(crate) fn deploy(a: DeployArgs, ctx: &Ctx) -> Result<i32> {
    let explicit_ns = a.ns.given()?;
    // Without -n, the kubeconfig context's namespace (read once every input is checked).
    let ns = explicit_ns.clone().unwrap_or_else(|| "default".into());
    let timeout = a
        .timeout
        .as_deref()
        .map(|t| resource::parse_duration("--timeout", t).map(Duration::from_secs))
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
    let placement = (!a.skip_placement_check).then(|| {
        let flag = match (&a.kind, &a.file) {
            (Some(DeployKind::Custom(c)), _) if !c.instance_types.is_empty() => {
                "--instance-types".to_string()
            }
            (Some(_), _) => "--instance-type".to_string(),
            (None, f) => format!("the instance type in {}", f.as_deref().unwrap_or("-")),
        };
        crate::deploy::placement::PlacementRequest {
            hyperpod_cluster: a.hyperpod_cluster.clone(),
            flag,
            skip_hint: None,
            known: None,
        }
    });
    let names_its_own = a.kind.is_none() && resource["metadata"]["namespace"].is_string();
    let deployment = Deployment {
        namespace_from_kubeconfig: explicit_ns.is_none() && !names_its_own,
        resource,
        namespace: ns,
        file: a.file.clone().filter(|_| a.kind.is_none()),
        offline: a.offline,
        hyperpod_cluster: a.hyperpod_cluster.clone(),
        placement,
        options: DeployOptions {
            wait: !a.no_wait,
            timeout,
        },
    };
    match workflow::deploy(ctx, deployment)? {
        Deployed::Checked(checked) => {
            let yaml = crate::ui::to_yaml(&checked.resource)?;
            ctx.ui.result(&checked.resource, || yaml)?;
            Ok(0)
        }
        Deployed::Applied(report) => finish_deploy(ctx, &report),
    }
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

pub(crate) fn get(a: GetArgs, ctx: &Ctx) -> Result<i32> {
    let given = a.ns.given()?;
    require(&[(Tool::Kubectl, "list model resources")])?;
    let ns = if a.all_namespaces {
        None
    } else {
        Some(namespace(given, ctx)?)
    };
    let listing = crate::deploy::list::list(ctx, ns.as_deref())?;
    if listing.no_crds {
        ctx.ui.warn("the inference operator's CRDs are not installed in this cluster (run `kubectl hyperpod setup`)");
    }
    ctx.ui.result(&listing, || listing.text())?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// describe

pub(crate) fn describe(a: DescribeArgs, ctx: &Ctx) -> Result<i32> {
    let given = a.ns.given()?;
    check::model_name("NAME", &a.name)?;
    require(&[(Tool::Kubectl, "read model resources")])?;
    let ns = namespace(given, ctx)?;
    let desc = crate::deploy::describe::describe(ctx, &ns, &a.name, a.kind.map(KindArg::to_lib))?;
    ctx.ui.result(&desc, || desc.text())?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// delete

pub(crate) fn delete(a: DeleteArgs, ctx: &Ctx) -> Result<i32> {
    let given = a.ns.given()?;
    check::model_name("NAME", &a.name)?;
    let timeout_seconds = a
        .timeout
        .as_deref()
        .map(|t| resource::parse_duration("--timeout", t))
        .transpose()?
        .unwrap_or(delete::DEFAULT_DELETE_SECONDS);
    require(&[(Tool::Kubectl, "delete model resources")])?;
    let namespace = namespace(given, ctx)?;
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
    /// The request, every flag checked; a model's namespace is `-n`'s or, when `None` here,
    /// resolved by [`logs`] once the flags are checked.
    fn to_lib(&self) -> Result<(LogsRequest, Option<String>)> {
        let given = self.ns.given()?;
        let mut req = if self.operator {
            LogsRequest::operator()
        } else {
            let name = self.name.clone().unwrap_or_default();
            check::model_name("NAME", &name)?;
            LogsRequest::model(given.as_deref().unwrap_or("default"), &name)
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
            .map(|s| resource::parse_duration("--since", s))
            .transpose()?;
        req.previous = self.previous;
        Ok((req, given))
    }
}

pub(crate) fn logs(a: LogsArgs, ctx: &Ctx) -> Result<i32> {
    let (mut req, given) = a.to_lib()?;
    require(&[(Tool::Kubectl, "read pod logs")])?;
    if !req.operator {
        req.namespace = namespace(given, ctx)?;
    }
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

pub(crate) fn invoke(a: InvokeArgs, ctx: &Ctx) -> Result<i32> {
    let given = a.ns.given()?;
    check::model_name("NAME", &a.name)?;
    let (body, body_field) = match (a.body, &a.body_file) {
        (Some(b), _) => (b.into_bytes(), "--body"),
        (None, Some(f)) => (
            crate::input::read_limited(
                f,
                "--body-file",
                "the request body",
                invoke::MAX_BODY as u64,
            )?,
            "--body-file",
        ),
        (None, None) => {
            return Err(Error::invalid(
                "--body",
                "give --body JSON or --body-file FILE",
            ))
        }
    };
    let mut req = InvokeRequest {
        namespace: given.clone().unwrap_or_else(|| "default".into()),
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
    req.namespace = namespace(given, ctx)?;
    let res = invoke::invoke(ctx, &req)?;
    ctx.ui.result(&res, || res.text())?;
    Ok(0)
}
