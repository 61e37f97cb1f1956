//! `setup`: the setup guide as a plan of steps that check before they act. The plan is built
//! first (every check read-only, in parallel), shown and confirmed, then executed in dependency
//! waves. Re-running is safe: satisfied steps do nothing, drifted ones are corrected.

pub mod iam;
pub mod names;
pub mod plan;
pub mod steps;
pub mod verify;
pub mod wait;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::tools::aws::{DescribeEks, HyperPodCluster};
use crate::tools::kube::KubeOpts;
use crate::tools::{self, Tool};
use crate::validate;
use crate::Ctx;
use iam::Oidc;
use names::{NameOverrides, Names, TEST_INSTANCE_TYPE};
use plan::{Plan, Report, State, StepEnv};
use steps::Inputs;

/// Where the public chart is fetched from when no `--chart` is given, pinned to a revision
/// (chart 2.2.2, operator v3.2, the revision the reference CRDs were taken from).
pub const CHART_GIT_URL: &str = "https://github.com/aws/sagemaker-hyperpod-cli";
pub const CHART_GIT_REF: &str = "011ca927";
pub const CHART_SUBDIR: &str = "helm_chart/HyperPodHelmChart/charts/inference-operator";
/// Environment variable naming a local chart directory (the default for `--chart`).
pub const CHART_DIR_ENV: &str = "HP_CHART_DIR";

/// Where the operator chart comes from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ChartSource {
    Local {
        path: PathBuf,
    },
    Git {
        url: String,
        reference: String,
        cache_dir: PathBuf,
    },
}

impl ChartSource {
    /// A local chart directory (must contain Chart.yaml).
    pub fn local(field: &str, dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        if !dir.join("Chart.yaml").is_file() {
            return Err(Error::invalid(
                field,
                format!(
                    "must be a chart directory containing Chart.yaml (got {})",
                    validate::quote(&dir.display().to_string())
                ),
            ));
        }
        Ok(ChartSource::Local { path: dir })
    }

    /// The pinned public chart, cached under the user's cache directory.
    pub fn pinned() -> Self {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        ChartSource::Git {
            url: CHART_GIT_URL.into(),
            reference: CHART_GIT_REF.into(),
            cache_dir: base
                .join("kubectl-hyperpod")
                .join(format!("sagemaker-hyperpod-cli-{CHART_GIT_REF}")),
        }
    }
}

/// How the inference operator is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperatorMethod {
    /// `helm upgrade --install` of the inference-operator chart (the guide's Step 10).
    Helm,
}

/// What to set up; mirrors the guide's `SetupConfig` plus the plugin's own switches.
#[derive(Debug, Clone)]
pub struct SetupConfig {
    pub hyperpod_cluster: String,
    pub region: String,
    /// S3 bucket for the operator's TLS certificates (name, without `s3://`).
    pub bucket: String,
    pub iam_only: bool,
    pub install_nvidia_plugin: bool,
    pub install_s3_csi: bool,
    pub install_fsx_csi: bool,
    pub enable_jumpstart_gated: bool,
    pub skip_test_deployment: bool,
    /// Instance type of the test model (the guide's ml.c5.2xlarge unless the cluster lacks it).
    pub test_instance_type: String,
    pub operator_method: OperatorMethod,
    pub chart: ChartSource,
    pub names: NameOverrides,
    /// Make no calls at all (with dry-run): documents carry placeholders.
    pub offline: bool,
    /// Deadline for each wait (add-on, helm --wait, test model).
    pub wait_timeout: Duration,
    /// From the global flags: the kubeconfig file, and a context chosen by the user.
    pub kubeconfig: Option<String>,
    pub user_context: Option<String>,
}

impl SetupConfig {
    /// The guide's defaults; validates the three required values.
    pub fn new(hyperpod_cluster: &str, region: &str, bucket: &str) -> Result<Self> {
        validate::hyperpod_cluster_name("--hyperpod-cluster", hyperpod_cluster)?;
        validate::region("--region", region)?;
        let bucket = validate::bucket_name("--s3-bucket", bucket)?;
        let chart = ChartSource::pinned();
        Ok(SetupConfig {
            hyperpod_cluster: hyperpod_cluster.to_string(),
            region: region.to_string(),
            bucket,
            iam_only: false,
            install_nvidia_plugin: true,
            install_s3_csi: true,
            install_fsx_csi: false,
            enable_jumpstart_gated: false,
            skip_test_deployment: false,
            test_instance_type: TEST_INSTANCE_TYPE.to_string(),
            operator_method: OperatorMethod::Helm,
            chart,
            names: NameOverrides::default(),
            offline: false,
            wait_timeout: Duration::from_secs(900),
            kubeconfig: None,
            user_context: None,
        })
    }

    fn update_kubeconfig_cmd(&self, ctx: &Ctx, f: &Facts, kubeconfig: Option<&str>) -> Cmd {
        update_kubeconfig_cmd(ctx, f, kubeconfig)
    }
}

/// `aws eks update-kubeconfig` for the cluster, under the context name the facts carry (also
/// used by teardown for its temporary kubeconfig).
pub(crate) fn update_kubeconfig_cmd(ctx: &Ctx, f: &Facts, kubeconfig: Option<&str>) -> Cmd {
    let ctx_name = f.context_name();
    let mut args = vec![
        "eks",
        "update-kubeconfig",
        "--name",
        f.eks_cluster.as_str(),
        "--alias",
        ctx_name.as_str(),
    ];
    if let Some(k) = kubeconfig {
        args.extend(["--kubeconfig", k]);
    }
    ctx.aws
        .cmd(
            format!(
                "write the kubeconfig entry for EKS cluster {}",
                f.eks_cluster
            ),
            &args,
        )
        .mutating()
}

/// What setup learns about the cluster before planning (guide Step 1).
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub account: String,
    pub hyperpod_arn: String,
    pub eks_cluster: String,
    pub eks_arn: String,
    pub endpoint: Option<String>,
    pub vpc_id: String,
    pub oidc: Oidc,
    /// The kube context every kubectl/helm call uses: `--context`, else the one setup writes.
    pub context: String,
}

impl Facts {
    pub fn context_name(&self) -> String {
        self.context.clone()
    }

    /// Placeholders for `--dry-run --offline`: what cannot be known without calls.
    fn offline(c: &SetupConfig) -> Self {
        let account = "${ACCOUNT_ID}".to_string();
        let issuer = format!(
            "https://oidc.eks.{}.amazonaws.com/id/${{OIDC_ID}}",
            c.region
        );
        Facts {
            hyperpod_arn: format!(
                "arn:aws:sagemaker:{}:{account}:cluster/${{HYPERPOD_CLUSTER_ID}}",
                c.region
            ),
            eks_cluster: "${EKS_CLUSTER_NAME}".into(),
            eks_arn: format!(
                "arn:aws:eks:{}:{account}:cluster/${{EKS_CLUSTER_NAME}}",
                c.region
            ),
            endpoint: None,
            vpc_id: "${VPC_ID}".into(),
            oidc: Oidc::new(&account, &issuer),
            context: c.user_context.clone().unwrap_or_else(|| {
                format!(
                    "arn:aws:eks:{}:{account}:cluster/${{EKS_CLUSTER_NAME}}",
                    c.region
                )
            }),
            account,
        }
    }
}

/// The role ARNs setup manages (what `configure_iam_only` returns).
#[derive(Debug, Clone, Serialize)]
pub struct Roles {
    pub inference_operator: String,
    pub load_balancer_controller: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_csi: Option<String>,
    pub keda: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fsx_csi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jumpstart_gated: Option<String>,
}

/// What a setup run did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub hyperpod_cluster: String,
    pub facts: Facts,
    pub names: Names,
    pub roles: Roles,
    pub plan: Plan,
    /// None for `--dry-run`.
    pub report: Option<Report>,
}

/// The setup operations, mirroring the guide's `HyperPodInferenceOperatorSetup` class.
pub struct Setup<'a> {
    ctx: &'a Ctx,
    config: SetupConfig,
}

impl<'a> Setup<'a> {
    pub fn new(ctx: &'a Ctx, mut config: SetupConfig) -> Self {
        if config.kubeconfig.is_none() {
            config.kubeconfig = ctx.kube.kubeconfig.clone();
        }
        if config.user_context.is_none() {
            config.user_context = ctx.kube.context.clone();
        }
        Setup { ctx, config }
    }

    pub fn config(&self) -> &SetupConfig {
        &self.config
    }

    /// Plans the whole setup, asks `confirm` (given the plan) whether to go on, and executes it.
    /// With `ctx.dry_run` it stops after planning.
    pub fn run(&self, confirm: &dyn Fn(&Plan) -> Result<()>) -> Result<Outcome> {
        self.run_steps(None, confirm)
    }

    /// Guide: `run_full_setup(skip_test_deployment)`.
    pub fn run_full_setup(&self, skip_test_deployment: bool) -> Result<Outcome> {
        let mut s = Setup::new(self.ctx, self.config.clone());
        s.config.skip_test_deployment = skip_test_deployment;
        s.run(&|_| Ok(()))
    }

    /// Guide: `configure_iam_only()`: creates only IAM resources; returns the role ARNs.
    pub fn configure_iam_only(&self) -> Result<Roles> {
        let mut s = Setup::new(self.ctx, self.config.clone());
        s.config.iam_only = true;
        s.run(&|_| Ok(())).map(|o| o.roles)
    }

    /// Guide: `update_kubeconfig()`.
    pub fn update_kubeconfig(&self) -> Result<()> {
        self.only(&["kubeconfig"]).map(|_| ())
    }

    /// Guide: `associate_oidc_provider()`.
    pub fn associate_oidc_provider(&self) -> Result<()> {
        self.only(&["oidc-provider"]).map(|_| ())
    }

    /// Guide: `create_inference_operator_role()`; returns the role ARN.
    pub fn create_inference_operator_role(&self) -> Result<String> {
        self.only(&["oidc-provider", "operator-role"])
            .map(|o| o.roles.inference_operator)
    }

    /// Guide: `create_keda_role()`; returns the role ARN.
    pub fn create_keda_role(&self) -> Result<String> {
        self.only(&["oidc-provider", "keda-role"])
            .map(|o| o.roles.keda)
    }

    /// Guide: `install_load_balancer_controller()`: policy, role and ServiceAccount.
    pub fn install_load_balancer_controller(&self) -> Result<()> {
        self.only(&[
            "kubeconfig",
            "oidc-provider",
            "alb-policy",
            "alb-role",
            "alb-service-account",
        ])
        .map(|_| ())
    }

    /// Guide: `setup_s3_csi_driver()`; returns the S3 CSI role ARN.
    pub fn setup_s3_csi_driver(&self) -> Result<String> {
        self.only(&[
            "kubeconfig",
            "oidc-provider",
            "s3-policy",
            "s3-role",
            "s3-service-account",
            "s3-csi-addon",
        ])
        .map(|o| o.roles.s3_csi.unwrap_or_default())
    }

    /// Guide: `install_inference_operator()`: the helm release and its ServiceAccount annotation.
    /// The roles it refers to must exist (run the IAM steps first, or `run_full_setup`).
    pub fn install_inference_operator(&self) -> Result<()> {
        self.only(&[
            "kubeconfig",
            "namespaces",
            "inference-operator",
            "operator-service-account",
        ])
        .map(|_| ())
    }

    /// Guide: `verify_installation()`: true when every verification passes.
    pub fn verify_installation(&self) -> Result<bool> {
        match self.only(&["verify"]) {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.root(), Error::Failed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn only(&self, ids: &[&str]) -> Result<Outcome> {
        self.run_steps(Some(ids), &|_| Ok(()))
    }

    fn required_tools(&self) -> Vec<(Tool, &'static str)> {
        let mut t = vec![(
            Tool::Aws,
            "resolve the cluster and manage IAM and EKS add-ons",
        )];
        if !self.config.iam_only {
            t.push((
                Tool::Kubectl,
                "create namespaces and ServiceAccounts and verify the install",
            ));
            t.push((Tool::Helm, "install the inference operator chart"));
            if matches!(self.config.chart, ChartSource::Git { .. }) {
                t.push((Tool::Git, "fetch the inference operator chart"));
            }
        }
        t
    }

    fn run_steps(
        &self,
        only: Option<&[&str]>,
        confirm: &dyn Fn(&Plan) -> Result<()>,
    ) -> Result<Outcome> {
        let c = &self.config;
        let names = Names::derive(&c.hyperpod_cluster, &c.names)?;
        let offline = c.offline && self.ctx.dry_run;
        if !offline {
            tools::require(&self.required_tools())?;
        }
        let facts = if offline {
            Facts::offline(c)
        } else {
            self.resolve()?
        };
        let inputs = Inputs {
            config: c,
            names: &names,
            facts: &facts,
        };
        let mut defs = steps::all(&inputs);
        if let Some(ids) = only {
            defs.retain(|d| d.id == "resolve" || ids.contains(&d.id));
        }
        let real_kube = KubeOpts {
            kubeconfig: c.kubeconfig.clone(),
            context: Some(facts.context_name()),
        };
        let plan_env_base = StepEnv {
            ctx: self.ctx,
            kube: real_kube.clone(),
            offline,
            changed_so_far: false,
            executing: false,
        };

        // Plan. When the kubeconfig entry does not exist yet, checks read the cluster through a
        // temporary kubeconfig so the plan is complete before anything changes.
        let mut _tmp = None;
        let mut plan_kube = real_kube.clone();
        if !offline && !c.iam_only {
            if let Some(kdef) = defs.iter().find(|d| d.id == "kubeconfig") {
                let kc = (kdef.check)(&plan_env_base)?;
                if kc.state != State::Satisfied {
                    let dir = tempfile::tempdir()
                        .map_err(|e| Error::io("create a temporary kubeconfig", e))?;
                    let path = dir.path().join("kubeconfig").display().to_string();
                    let mut cmd = c.update_kubeconfig_cmd(self.ctx, &facts, Some(&path));
                    cmd.mutating = false; // writes only a temporary file
                    cmd.purpose = "write a temporary kubeconfig for planning".into();
                    self.ctx.runner.run(&cmd)?;
                    plan_kube = KubeOpts {
                        kubeconfig: Some(path),
                        context: Some(facts.context_name()),
                    };
                    _tmp = Some(dir);
                }
            }
        }
        let plan_env = StepEnv {
            kube: plan_kube,
            ..plan_env_base
        };
        self.ctx
            .ui
            .status("Checking what is already in place...", true);
        let context = json!({
            "hyperpod_cluster": c.hyperpod_cluster,
            "region": c.region,
            "s3_bucket": c.bucket,
            "offline": offline,
            "facts": facts,
            "names": names,
            "chart": c.chart,
        });
        let plan = plan::make_plan(&defs, &plan_env, context)?;
        self.ctx.ui.status_done();
        let roles = self.roles(&inputs);
        let mut outcome = Outcome {
            hyperpod_cluster: c.hyperpod_cluster.clone(),
            facts: facts.clone(),
            names: names.clone(),
            roles,
            plan,
            report: None,
        };
        confirm(&outcome.plan)?;
        if self.ctx.dry_run {
            return Ok(outcome);
        }
        let exec_env = StepEnv {
            ctx: self.ctx,
            kube: real_kube,
            offline: false,
            changed_so_far: false,
            executing: true,
        };
        let (report, err) = plan::execute(&defs, &outcome.plan, &exec_env);
        if let Some(e) = err {
            return Err(e);
        }
        outcome.report = Some(report);
        Ok(outcome)
    }

    fn roles(&self, inp: &Inputs) -> Roles {
        let c = &self.config;
        Roles {
            inference_operator: inp.operator_role_arn(),
            load_balancer_controller: inp.alb_role_arn(),
            s3_csi: c.install_s3_csi.then(|| inp.s3_role_arn()),
            keda: inp.keda_role_arn(),
            fsx_csi: c.install_fsx_csi.then(|| inp.fsx_role_arn()),
            jumpstart_gated: c.enable_jumpstart_gated.then(|| inp.gated_role_arn()),
        }
    }

    /// Guide Step 1: HyperPod cluster -> EKS cluster, account, OIDC issuer, VPC.
    fn resolve(&self) -> Result<Facts> {
        resolve_facts(
            self.ctx,
            &self.config.hyperpod_cluster,
            self.config.user_context.as_deref(),
        )
    }
}

/// Guide Step 1: HyperPod cluster -> EKS cluster, account, OIDC issuer, VPC (shared with
/// teardown). The kube context is `user_context`, else the one setup writes (the EKS ARN).
pub(crate) fn resolve_facts(
    ctx: &Ctx,
    hyperpod_cluster: &str,
    user_context: Option<&str>,
) -> Result<Facts> {
    ctx.ui.status(
        &format!("Resolving HyperPod cluster {}...", hyperpod_cluster),
        true,
    );
    let hp_cmd = ctx.aws.cmd(
        format!("describe HyperPod cluster {}", hyperpod_cluster),
        &[
            "sagemaker",
            "describe-cluster",
            "--cluster-name",
            hyperpod_cluster,
        ],
    );
    let id_cmd = ctx.aws.cmd(
        "read the AWS account of the current credentials",
        &["sts", "get-caller-identity"],
    );
    let (hp, id) = std::thread::scope(|s| {
        let a = s.spawn(|| ctx.runner.json::<HyperPodCluster>(&hp_cmd));
        let b = s.spawn(|| {
            ctx.runner
                .json::<crate::tools::aws::CallerIdentity>(&id_cmd)
        });
        (
            a.join()
                .unwrap_or_else(|_| Err(Error::failed("a thread panicked", None))),
            b.join()
                .unwrap_or_else(|_| Err(Error::failed("a thread panicked", None))),
        )
    });
    let (hp, id) = (hp?, id?);
    let eks_arn = hp
        .orchestrator
        .as_ref()
        .and_then(|o| o.eks.as_ref())
        .map(|e| e.cluster_arn.clone())
        .ok_or_else(|| Error::failed(format!("HyperPod cluster {} is not orchestrated by EKS (no Orchestrator.Eks.ClusterArn)", hyperpod_cluster), Some("this plugin supports EKS-orchestrated HyperPod clusters only".into())))?;
    let eks_name = eks_arn.rsplit('/').next().unwrap_or_default().to_string();
    validate::eks_cluster_name("Orchestrator.Eks.ClusterArn", &eks_name)?;
    let eks_cmd = ctx.aws.cmd(
        format!("describe EKS cluster {eks_name}"),
        &["eks", "describe-cluster", "--name", &eks_name],
    );
    let eks: DescribeEks = ctx.runner.json(&eks_cmd)?;
    ctx.ui.status_done();
    let issuer = eks
        .cluster
        .identity
        .as_ref()
        .and_then(|i| i.oidc.as_ref())
        .and_then(|o| o.issuer.clone())
        .ok_or_else(|| Error::failed(format!("EKS cluster {eks_name} has no OIDC issuer"), Some("IAM roles for service accounts need the cluster's OIDC issuer; check the cluster in the EKS console".into())))?;
    let vpc_id = eks
        .cluster
        .resources_vpc_config
        .as_ref()
        .and_then(|v| v.vpc_id.clone())
        .unwrap_or_default();
    if vpc_id.is_empty() || vpc_id == "None" {
        return Err(Error::failed(format!("EKS cluster {eks_name} reports no VPC id"), Some("the load balancer controller needs the cluster's VPC (cluster.resourcesVpcConfig.vpcId)".into())));
    }
    Ok(Facts {
        oidc: Oidc::new(&id.account, &issuer),
        account: id.account,
        hyperpod_arn: hp.cluster_arn,
        eks_cluster: eks_name,
        context: user_context
            .map(str::to_string)
            .unwrap_or_else(|| eks.cluster.arn.clone()),
        eks_arn: eks.cluster.arn,
        endpoint: eks.cluster.endpoint,
        vpc_id,
    })
}

/// The role ARNs as `name -> arn` lines for text output.
pub fn roles_table(r: &Roles) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    m.insert("inference operator", r.inference_operator.clone());
    m.insert(
        "load balancer controller",
        r.load_balancer_controller.clone(),
    );
    m.insert("KEDA", r.keda.clone());
    if let Some(a) = &r.s3_csi {
        m.insert("S3 CSI driver", a.clone());
    }
    if let Some(a) = &r.fsx_csi {
        m.insert("FSx CSI driver", a.clone());
    }
    if let Some(a) = &r.jumpstart_gated {
        m.insert("JumpStart gated models", a.clone());
    }
    m
}
