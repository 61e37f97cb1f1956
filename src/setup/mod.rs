//! `setup`: the setup guide as a plan of steps that check before they act, for either install
//! method (the Helm chart, or the EKS add-on; by default the one already on the cluster). The plan is built
//! first (every check read-only, in parallel), shown and confirmed, then executed in dependency
//! waves. Re-running is safe: satisfied steps do nothing, drifted ones are corrected. A plan
//! with a blocked step (`preflight`) is refused before anything changes.

mod addon;
mod cluster;
pub(crate) mod iam;
pub(crate) mod method;
pub(crate) mod migrate;
mod model_wait;
mod operator;
mod pending;
mod preflight;
pub(crate) mod steps;
pub(crate) mod verify;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::exec::private::PrivateDir;
use crate::exec::Cmd;
use crate::install::names::{
    NameOverrides, Names, FSX_CSI_ADDON, OPERATOR_ADDON, S3_CSI_ADDON, TEST_INSTANCE_TYPE,
};
use crate::install::target::{self, Target};
use crate::install::{Installation, Options, RoleId};
use crate::plan::lock::ClusterLock;
use crate::plan::{self, Plan, RunReport, State, StepEnv};
use crate::tools::kube::KubeOpts;
use crate::tools::{self, Tool};
use crate::validate;
use crate::Ctx;
use steps::SetupInputs;

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

/// How the inference operator is installed (the installation model's method).
pub use crate::install::Method as OperatorMethod;

/// What to set up; mirrors the guide's `SetupConfig` plus the plugin's own switches.
#[derive(Debug, Clone)]
pub struct SetupConfig {
    pub hyperpod_cluster: String,
    pub region: String,
    /// S3 bucket for the operator's TLS certificates (name, without `s3://`).
    pub bucket: String,
    /// Take the cluster's lock even when another run holds it (`--force-unlock`).
    pub force_unlock: bool,
    pub iam_only: bool,
    pub install_nvidia_plugin: bool,
    pub install_s3_csi: bool,
    /// Buckets the S3 CSI driver's role may read models from (`--model-bucket`), added to
    /// those an earlier run granted (never removed but by teardown).
    pub model_buckets: Vec<String>,
    pub install_fsx_csi: bool,
    pub enable_jumpstart_gated: bool,
    pub skip_test_deployment: bool,
    /// Instance type of the test model (the guide's ml.c5.2xlarge unless the cluster lacks it).
    pub test_instance_type: String,
    /// How the operator is installed; `None`: the method already on the cluster (the EKS add-on
    /// there: `Addon`; otherwise `Helm`, the guide's).
    pub operator_method: Option<OperatorMethod>,
    pub chart: ChartSource,
    pub names: NameOverrides,
    /// Make no calls at all (with dry-run): documents carry placeholders.
    pub offline: bool,
    /// Deadline for each wait (add-on, helm --wait, test model).
    pub wait_timeout: Duration,
    /// The add-on method's plan as a migration from a Helm install (set by
    /// [`crate::migrate::Migration`]): the Helm Deployments removed before the add-on is created,
    /// the release record after it is verified; a Helm release does not block it.
    pub migrating: bool,
    /// From the global flags: the kubeconfig file, and a context chosen by the user.
    pub kube: KubeOpts,
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
            force_unlock: false,
            install_nvidia_plugin: true,
            install_s3_csi: true,
            model_buckets: Vec::new(),
            install_fsx_csi: false,
            enable_jumpstart_gated: false,
            skip_test_deployment: false,
            test_instance_type: TEST_INSTANCE_TYPE.to_string(),
            operator_method: None,
            chart,
            names: NameOverrides::default(),
            offline: false,
            wait_timeout: Duration::from_secs(900),
            migrating: false,
            kube: KubeOpts::default(),
        })
    }

    fn update_kubeconfig_cmd(&self, ctx: &Ctx, f: &Target, kubeconfig: Option<&str>) -> Cmd {
        target::update_kubeconfig_cmd(ctx, f, kubeconfig)
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
pub struct SetupOutcome {
    pub hyperpod_cluster: String,
    /// The install method the plan is for (given, or found on the cluster).
    pub method: OperatorMethod,
    pub facts: Target,
    pub names: Names,
    pub roles: Roles,
    pub plan: Plan,
    /// None for `--dry-run`.
    pub report: Option<RunReport>,
}

/// The setup operations, mirroring the guide's `HyperPodInferenceOperatorSetup` class.
pub struct Setup<'a> {
    ctx: &'a Ctx,
    config: SetupConfig,
}

impl<'a> Setup<'a> {
    pub fn new(ctx: &'a Ctx, mut config: SetupConfig) -> Self {
        config.kube = config.kube.or(&ctx.kube);
        Setup { ctx, config }
    }

    pub fn config(&self) -> &SetupConfig {
        &self.config
    }

    /// Plans the whole setup, asks `confirm` (given the plan) whether to go on, and executes it.
    /// With `ctx.dry_run` it stops after planning.
    pub fn run(&self, confirm: &dyn Fn(&Plan) -> Result<()>) -> Result<SetupOutcome> {
        self.run_steps(None, confirm)
    }

    /// Guide: `run_full_setup(skip_test_deployment)`.
    pub fn run_full_setup(&self, skip_test_deployment: bool) -> Result<SetupOutcome> {
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

    fn only(&self, ids: &[&str]) -> Result<SetupOutcome> {
        self.run_steps(Some(ids), &|_| Ok(()))
    }

    /// The tools the method needs (`None`: before the method is known, what every method needs).
    fn required_tools(&self, method: Option<OperatorMethod>) -> Vec<(Tool, &'static str)> {
        let mut t = vec![(
            Tool::Aws,
            "resolve the cluster and manage IAM and EKS add-ons",
        )];
        if !self.config.iam_only {
            t.push((
                Tool::Kubectl,
                "create namespaces and ServiceAccounts and verify the install",
            ));
            if self.config.migrating {
                t.push((
                    Tool::Helm,
                    "restore the Helm install when the migration fails",
                ));
            }
            if method == Some(OperatorMethod::Helm) {
                t.push((Tool::Helm, "install the inference operator chart"));
                if matches!(self.config.chart, ChartSource::Git { .. }) {
                    t.push((Tool::Git, "fetch the inference operator chart"));
                }
            }
        }
        t
    }

    /// The method already on the cluster: the operator add-on -> `Addon`, else `Helm`.
    fn method_on_cluster(&self, facts: &Target) -> Result<OperatorMethod> {
        // Kept for the run: preflight asks the same.
        let found = tools::eks::addon_read(
            &self.ctx.runner,
            &self.ctx.aws,
            &facts.eks_cluster,
            OPERATOR_ADDON,
            true,
        )?;
        Ok(match found {
            Some(_) => OperatorMethod::Addon,
            None => OperatorMethod::Helm,
        })
    }

    /// The role names of an add-on install already on the cluster (its configuration, its CSI
    /// add-ons' roles): setup manages that install rather than making a second set of roles.
    fn adopt_installed_names(&self, facts: &Target, names: &mut Names) -> Result<()> {
        let read = |addon: &str| {
            tools::eks::addon_read(
                &self.ctx.runner,
                &self.ctx.aws,
                &facts.eks_cluster,
                addon,
                true,
            )
        };
        let Some(operator) = read(OPERATOR_ADDON)? else {
            return Ok(());
        };
        let s3 = read(S3_CSI_ADDON)?;
        let fsx = read(FSX_CSI_ADDON)?;
        for (id, name) in
            crate::install::installed::installed_roles(&operator, s3.as_ref(), fsx.as_ref())
        {
            names.adopt(id, &name);
        }
        Ok(())
    }

    /// Plans the whole setup (every check read-only) and hands the plan out as a value; nothing
    /// changes until [`Setup::apply`] is given it.
    pub fn plan(&self) -> Result<SetupOutcome> {
        self.plan_steps(None)
    }

    /// Executes a plan made by [`Setup::plan`] (with the same configuration): each step checks
    /// again right before it acts. Returns the outcome with its report.
    pub fn apply(&self, planned: &SetupOutcome) -> Result<SetupOutcome> {
        self.apply_then(planned, &|_, e| e)
    }

    /// [`Setup::apply`], with `on_failure` given the cluster access and the error of a failed
    /// run while the cluster's lock is still held (a migration restores the Helm install there).
    pub(crate) fn apply_then(
        &self,
        planned: &SetupOutcome,
        on_failure: &dyn Fn(&KubeOpts, Error) -> Error,
    ) -> Result<SetupOutcome> {
        refuse_blocked(&planned.plan)?;
        let c = &self.config;
        let install = self.installation(planned.method, planned.names.clone());
        let inputs = SetupInputs {
            config: c,
            install: &install,
            target: &planned.facts,
        };
        let mut defs = steps::all(&inputs);
        defs.retain(|d| planned.plan.steps.iter().any(|s| s.id == d.id));
        // One changing run per cluster (--iam-only touches nothing in the cluster; a run with
        // nothing to do changes nothing).
        let _lock = if c.iam_only || !planned.plan.may_change() {
            None
        } else {
            let (kube, tmp) = target::kube_access(self.ctx, &c.kube, &planned.facts)?;
            Some(ClusterLock::acquire(
                self.ctx,
                kube,
                tmp,
                if c.migrating { "migrate" } else { "setup" },
                c.force_unlock,
            )?)
        };
        let exec_env = StepEnv {
            ctx: self.ctx,
            kube: c.kube.in_context(planned.facts.context_name()),
            offline: false,
            changed_so_far: false,
            executing: true,
            batch: Some(std::sync::Arc::new(steps::objects_read(&inputs))),
        };
        let (report, err) = plan::execute(&defs, &planned.plan, &exec_env);
        if let Some(e) = err {
            return Err(on_failure(&exec_env.kube, e));
        }
        let mut outcome = planned.clone();
        outcome.report = Some(report);
        Ok(outcome)
    }

    fn run_steps(
        &self,
        only: Option<&[&str]>,
        confirm: &dyn Fn(&Plan) -> Result<()>,
    ) -> Result<SetupOutcome> {
        let planned = self.plan_steps(only)?;
        if !self.ctx.dry_run {
            refuse_blocked(&planned.plan)?;
        }
        confirm(&planned.plan)?;
        if self.ctx.dry_run {
            return Ok(planned);
        }
        self.apply(&planned)
    }

    fn installation(&self, method: OperatorMethod, names: Names) -> Installation {
        let c = &self.config;
        Installation::new(
            method,
            Options {
                s3_csi: c.install_s3_csi,
                fsx_csi: c.install_fsx_csi,
                gated_models: c.enable_jumpstart_gated,
                model_buckets: !c.model_buckets.is_empty(),
            },
            names,
        )
    }

    fn plan_steps(&self, only: Option<&[&str]>) -> Result<SetupOutcome> {
        let c = &self.config;
        let offline = c.offline && self.ctx.dry_run;
        if !offline {
            tools::require(&self.required_tools(c.operator_method))?;
        }
        let facts = if offline {
            Target::offline(&c.region, c.kube.context.as_deref())
        } else {
            self.resolve()?
        };
        let method = match c.operator_method {
            Some(m) => m,
            None if offline => OperatorMethod::Helm,
            None => {
                let m = self.method_on_cluster(&facts)?;
                tools::require(&self.required_tools(Some(m)))?;
                m
            }
        };
        let mut names = Names::derive_for(method, &c.hyperpod_cluster, &c.names)?;
        if method == OperatorMethod::Addon && !offline {
            self.adopt_installed_names(&facts, &mut names)?;
        }
        let install = self.installation(method, names.clone());
        let inputs = SetupInputs {
            config: c,
            install: &install,
            target: &facts,
        };
        let mut defs = steps::all(&inputs);
        if let Some(ids) = only {
            defs.retain(|d| d.id == "resolve" || ids.contains(&d.id));
        }
        let real_kube = c.kube.in_context(facts.context_name());
        let plan_env_base = StepEnv {
            ctx: self.ctx,
            kube: real_kube,
            offline,
            changed_so_far: false,
            executing: false,
            batch: Some(std::sync::Arc::new(steps::objects_read(&inputs))),
        };

        // When the kubeconfig entry does not exist yet, checks read the cluster through a
        // temporary kubeconfig so the plan is complete before anything changes.
        let mut _tmp = None;
        let mut plan_kube = plan_env_base.kube.clone();
        if !offline && !c.iam_only {
            if let Some(kdef) = defs.iter().find(|d| d.id == "kubeconfig") {
                let kc = (kdef.check)(&plan_env_base)?;
                if kc.state != State::Satisfied {
                    let dir = PrivateDir::new("create a temporary kubeconfig")?;
                    let path = dir.file("kubeconfig").display().to_string();
                    let mut cmd = c.update_kubeconfig_cmd(self.ctx, &facts, Some(&path));
                    cmd.mutating = false; // writes only a temporary file
                    cmd.purpose = "write a temporary kubeconfig for planning".into();
                    let ran = self.ctx.runner.run(&cmd);
                    dir.seal("kubeconfig");
                    ran?;
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
            "method": method,
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
        Ok(SetupOutcome {
            hyperpod_cluster: c.hyperpod_cluster.clone(),
            method,
            roles,
            facts: facts.clone(),
            names,
            plan,
            report: None,
        })
    }

    fn roles(&self, inp: &SetupInputs) -> Roles {
        let c = &self.config;
        let has = |id: RoleId| inp.install.roles().any(|r| r.id == id);
        Roles {
            inference_operator: inp.role_arn(RoleId::Operator),
            load_balancer_controller: inp.role_arn(RoleId::Alb),
            s3_csi: has(RoleId::S3Csi).then(|| inp.role_arn(RoleId::S3Csi)),
            keda: inp.role_arn(RoleId::Keda),
            fsx_csi: has(RoleId::FsxCsi).then(|| inp.role_arn(RoleId::FsxCsi)),
            jumpstart_gated: c
                .enable_jumpstart_gated
                .then(|| inp.role_arn(RoleId::GatedModel)),
        }
    }

    /// Guide Step 1: HyperPod cluster -> EKS cluster, account, OIDC issuer, VPC.
    fn resolve(&self) -> Result<Target> {
        target::resolve(
            self.ctx,
            &self.config.hyperpod_cluster,
            self.config.kube.context.as_deref(),
        )
    }
}

/// A plan with a blocked step (`preflight`: what the cluster has that the Helm method cannot
/// live with) is refused before anything changes, with every reason and its way out.
fn refuse_blocked(plan: &Plan) -> Result<()> {
    let why: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.check.state == State::Blocked)
        .flat_map(|s| s.check.notes.iter().map(|n| format!("- {n}")))
        .collect();
    if why.is_empty() {
        return Ok(());
    }
    Err(Error::failed(
        format!(
            "setup refuses to run; nothing was changed:\n{}",
            why.join("\n")
        ),
        Some("resolve the above and re-run; `--dry-run` shows the whole plan".into()),
    ))
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
