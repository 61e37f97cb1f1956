//! The step graph of setup (guide steps 1-12), built from the installation model (`install`):
//! one step per role, policy, ServiceAccount and add-on of the installation's tables, plus the
//! kubeconfig, namespaces, device plugin, the operator (Helm release or EKS add-on, by the
//! installation's method), verification and the test model. Each step is a check that says
//! satisfied / missing / drifted and the exact commands that would bring it in line; the checks
//! live by subject in `iam`, `cluster`, `operator`, `addon` and `verify`.

use serde_json::Value;

use super::iam::{self, RoleSpec};
use super::{addon, cluster, migrate, operator, preflight, SetupConfig, StepEnv};
use crate::deploy::resource::JumpStartInput;
use crate::error::Result;
use crate::install::documents::{
    self, AddonConfiguration, Labels, ModelBucketsContext, OperatorValues, PolicyContext,
};
use crate::install::names::*;
use crate::install::target::Target;
use crate::install::Method;
use crate::install::{trust, Installation, Managed, PolicyDef, PolicyId, RoleDef, RoleId};
use crate::plan::StepDef;
use crate::tools::iam::policy_document;

/// Everything the steps need, borrowed for the life of a plan and its execution.
pub(crate) struct SetupInputs<'a> {
    pub config: &'a SetupConfig,
    pub install: &'a Installation,
    pub target: &'a Target,
}

impl SetupInputs<'_> {
    pub(crate) fn role_arn(&self, id: RoleId) -> String {
        format!(
            "arn:aws:iam::{}:role/{}",
            self.target.account,
            self.install.role_name(id)
        )
    }
    pub(crate) fn policy_arn(&self, id: PolicyId) -> String {
        format!(
            "arn:aws:iam::{}:policy/{}",
            self.target.account,
            self.install.policy_name(id)
        )
    }
    pub(crate) fn iam_tags(&self) -> Vec<(String, String)> {
        documents::iam_tags(&self.config.hyperpod_cluster)
    }
    pub(crate) fn k8s_labels(&self) -> Labels {
        documents::k8s_labels()
    }
    pub(crate) fn k8s_annotations(&self) -> Labels {
        documents::k8s_annotations(&self.config.hyperpod_cluster)
    }
    fn policy_context(&self) -> PolicyContext<'_> {
        PolicyContext {
            bucket: &self.config.bucket,
        }
    }

    /// A role of the installation as setup wants it: trust, inline and managed policies, tags.
    pub(crate) fn role_spec(&self, def: &RoleDef) -> Result<RoleSpec> {
        let trust = trust::trust_policy(
            &self.target.oidc,
            &def.subject.sub(),
            def.subject.is_pattern(),
            def.trust_sagemaker,
        )?;
        let inline = match def.inline {
            Some(i) => Some((
                i.name.to_string(),
                self.policy_context().render(i.template)?,
            )),
            None => None,
        };
        let managed = def
            .managed
            .iter()
            .filter(|m| self.wanted(m))
            .map(|m| match m {
                Managed::Aws(arn) => arn.to_string(),
                Managed::Ours(p) => self.policy_arn(*p),
            })
            .collect();
        Ok(RoleSpec {
            name: self.install.role_name(def.id).to_string(),
            description: def.description.into(),
            trust,
            inline,
            managed,
            tags: self.iam_tags(),
        })
    }

    /// Whether the installation wants a role's managed policy (ours have switches of their own).
    fn wanted(&self, m: &Managed) -> bool {
        match m {
            Managed::Aws(_) => true,
            Managed::Ours(p) => self.install.options.wants(self.install.policy(*p).when),
        }
    }

    /// A customer-managed policy's document. The model buckets' grows: the buckets granted
    /// before (read from the policy, a kept read) and those asked for now.
    pub(crate) fn policy_document(&self, def: &PolicyDef, env: &StepEnv) -> Result<Value> {
        if def.id != PolicyId::ModelBuckets {
            return self.policy_context().render(def.template);
        }
        let name = self.install.policy_name(def.id);
        let mut buckets = iam::current_policy(env, name, &self.policy_arn(def.id))?
            .map(|d| ModelBucketsContext::granted(&policy_document(&d)))
            .unwrap_or_default();
        for b in &self.config.model_buckets {
            if !buckets.contains(b) {
                buckets.push(b.clone());
            }
        }
        ModelBucketsContext { buckets: &buckets }.render()
    }

    /// The chart values setup installs with (guide Step 10), with the chart's cert-manager off:
    /// cert-manager comes first, from the EKS add-on or what the cluster has (the chart's own
    /// cannot work on a cluster without it: Helm cannot build the chart's Certificate and Issuer
    /// before the subchart's CRDs exist).
    pub(crate) fn helm_values(&self) -> Result<Value> {
        let c = self.config;
        OperatorValues {
            region: &c.region,
            eks_cluster: &self.target.eks_cluster,
            hyperpod_cluster_arn: &self.target.hyperpod_arn,
            execution_role_arn: self.role_arn(RoleId::Operator),
            bucket: &c.bucket,
            gated_role_arn: c
                .enable_jumpstart_gated
                .then(|| self.role_arn(RoleId::GatedModel)),
            s3_role_arn: self.role_arn(RoleId::S3Csi),
            fsx_chart_enabled: !c.install_fsx_csi,
            cert_manager_chart_enabled: false,
            keda_role_arn: self.role_arn(RoleId::Keda),
            vpc_id: &self.target.vpc_id,
        }
        .render()
    }

    /// The configuration of the operator add-on (the add-on method's counterpart of the chart
    /// values), checked against the add-on's schema.
    pub(crate) fn addon_configuration(&self) -> Result<Value> {
        let c = self.config;
        AddonConfiguration {
            execution_role_arn: self.role_arn(RoleId::Operator),
            bucket: &c.bucket,
            hyperpod_cluster_arn: &self.target.hyperpod_arn,
            gated_role_arn: c
                .enable_jumpstart_gated
                .then(|| self.role_arn(RoleId::GatedModel)),
            alb_role_arn: self.role_arn(RoleId::Alb),
            keda_role_arn: self.role_arn(RoleId::Keda),
        }
        .render()
    }

    /// The guide's test model: a small BERT JumpStart model, without a SageMaker endpoint,
    /// rendered as `deploy jumpstart` renders one, and labelled as ours.
    pub(crate) fn test_model(&self) -> Result<Value> {
        let mut model = JumpStartInput {
            name: TEST_MODEL_NAME.into(),
            namespace: "default".into(),
            model_id: "huggingface-eqa-bert-base-cased".into(),
            instance_type: self.config.test_instance_type.clone(),
            max_deploy_time: Some(self.config.wait_timeout.as_secs()),
            ..Default::default()
        }
        .render()?;
        if let Some(meta) = model.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("labels".into(), Value::Object(self.k8s_labels()));
        }
        Ok(model)
    }
}

/// The step graph for a configuration. `iam_only` keeps the IAM steps.
pub(crate) fn all<'a>(inp: &'a SetupInputs<'a>) -> Vec<StepDef<'a>> {
    let c = inp.config;
    let install = inp.install;
    let f = inp.target;
    let mut steps = vec![f.resolve_step(
        "resolve the EKS cluster, account, OIDC issuer and VPC",
        &c.hyperpod_cluster,
        vec![
            format!(
                "account {}, region {}, VPC {}",
                f.account, c.region, f.vpc_id
            ),
            format!("OIDC issuer {}", f.oidc.issuer),
        ],
    )];
    if !c.iam_only {
        steps.push(StepDef::new(
            "kubeconfig",
            "kubeconfig entry for the EKS cluster",
            &["resolve"],
            move |env| cluster::kubeconfig_check(env, inp),
        ));
    }
    steps.push(StepDef::new(
        "oidc-provider",
        "IAM OIDC identity provider for the cluster",
        &["resolve"],
        move |env| iam::oidc_check(env, &inp.target.oidc, &inp.iam_tags()),
    ));
    // Each role, preceded by the customer-managed policies it attaches.
    for role in install.roles() {
        let mut deps = vec!["oidc-provider"];
        for m in role.managed.iter().filter(|m| inp.wanted(m)) {
            let Managed::Ours(pid) = m else { continue };
            let policy = install.policy(*pid);
            deps.push(policy.step);
            steps.push(StepDef::new(
                policy.step,
                format!("{} {}", policy.what, install.policy_name(policy.id)),
                &["resolve"],
                move |env| {
                    iam::policy_check(
                        env,
                        install.policy_name(policy.id),
                        &inp.policy_arn(policy.id),
                        &inp.policy_document(policy, env)?,
                        policy.description,
                        &inp.iam_tags(),
                    )
                },
            ));
        }
        steps.push(StepDef::new(
            role.step,
            format!("{} {}", role.what, install.role_name(role.id)),
            &deps,
            move |env| iam::role_check(env, &inp.role_spec(role)?),
        ));
    }
    if c.iam_only {
        return steps;
    }

    // What the cluster already has that the method cannot live with: checked with the rest of
    // the plan, so a real run refuses before its first change (`preflight`).
    steps.push(StepDef::new(
        "preflight",
        match install.method {
            Method::Helm => "what the cluster already has: an operator add-on, metrics-server, KEDA, a load balancer controller, CSI drivers",
            Method::Addon => "what the cluster already has: an operator installed by Helm",
        },
        &["kubeconfig"],
        move |env| {
            if c.migrating {
                migrate::preflight_check(env, inp)
            } else {
                preflight::check(env, inp)
            }
        },
    ));
    let sa_step = |def: &'static crate::install::ServiceAccountDef| {
        StepDef::new(
            def.step,
            format!("ServiceAccount {}/{}", def.sa.namespace, def.sa.name),
            &["kubeconfig", install.role(def.role).step],
            move |env| cluster::service_account_check(env, inp, def),
        )
    };
    // ServiceAccounts of their own first; those an EKS add-on adopts come next to their add-on.
    for def in install.service_accounts().filter(|s| s.addon.is_none()) {
        steps.push(sa_step(def));
    }
    if !install.namespaces().is_empty() {
        steps.push(StepDef::new(
            "namespaces",
            format!("namespaces {}", install.namespaces().join(", ")),
            &["kubeconfig"],
            move |env| cluster::namespaces_check(env, inp),
        ));
    }
    let mut operator_deps = match install.method {
        Method::Helm => vec![
            "operator-role",
            "alb-service-account",
            "namespaces",
            "keda-role",
        ],
        // The add-on creates its ServiceAccounts and namespace: it needs its roles.
        Method::Addon => [RoleId::Operator, RoleId::Alb, RoleId::Keda]
            .map(|id| install.role(id).step)
            .to_vec(),
    };
    for def in install.service_accounts().filter(|s| s.addon.is_some()) {
        steps.push(sa_step(def));
    }
    if c.migrating {
        // The Helm install's Deployments go once the new roles and the dependency add-ons it
        // does not collide with are in place; metrics-server's add-on and the operator's come
        // after (they take over what Helm's own metrics-server and CRDs hold).
        let mut deps = operator_deps.clone();
        deps.extend(
            install
                .addons()
                .filter(|a| a.name != METRICS_SERVER_ADDON)
                .map(|a| a.step),
        );
        steps.push(StepDef::new(
            "helm-workloads",
            "the Helm install's Deployments scaled to 0 and deleted (not helm uninstall: the CRDs and models stay)",
            &deps,
            migrate::helm_workloads_check,
        ));
        operator_deps.push("helm-workloads");
    }
    for addon in install.addons() {
        let mut deps: Vec<&str> = addon
            .role
            .map(|r| install.role(r).step)
            .into_iter()
            .collect();
        if deps.is_empty() {
            deps.push("kubeconfig");
        }
        if c.migrating && addon.name == METRICS_SERVER_ADDON {
            deps.push("helm-workloads");
        }
        deps.extend(
            install
                .service_accounts()
                .filter(|s| s.addon == Some(addon.name))
                .map(|s| s.step),
        );
        steps.push(StepDef::new(
            addon.step,
            format!("EKS add-on {}", addon.name),
            &deps,
            move |env| match addon.role {
                _ if addon.name == CERT_MANAGER_ADDON && install.method == Method::Helm => {
                    cluster::cert_manager_check(env, inp)
                }
                Some(r) => cluster::addon_check(env, inp, addon, Some(&inp.role_arn(r))),
                None => cluster::addon_check(env, inp, addon, None),
            },
        ));
        operator_deps.push(addon.step);
    }
    if c.install_nvidia_plugin {
        steps.push(StepDef::new(
            "nvidia-device-plugin",
            format!("NVIDIA device plugin {NVIDIA_PLUGIN_VERSION}"),
            &["kubeconfig"],
            move |env| cluster::nvidia_check(env, inp),
        ));
    }
    if c.enable_jumpstart_gated {
        operator_deps.push(install.role(RoleId::GatedModel).step);
    }
    // The install method decides only this step's title and check; everything around it
    // (roles, ServiceAccount annotation, verification) comes from the installation model.
    let release = install.release();
    let title = match install.method {
        Method::Helm => format!("helm release {} in {}", release.name, release.namespace),
        Method::Addon => format!("EKS add-on {OPERATOR_ADDON}"),
    };
    steps.push(StepDef::new(
        "inference-operator",
        title,
        &operator_deps,
        move |env| match inp.install.method {
            Method::Helm => operator::operator_check(env, inp),
            Method::Addon => addon::operator_addon_check(env, inp),
        },
    ));
    // The chart may leave its ServiceAccount without the role; the add-on annotates its own
    // from its configuration (verify checks it).
    let verify_after = match install.method {
        Method::Helm => {
            steps.push(StepDef::new(
                "operator-service-account",
                format!(
                    "ServiceAccount {}/{} annotated with the operator role",
                    OPERATOR_SA.namespace, OPERATOR_SA.name
                ),
                &["inference-operator"],
                move |env| operator::operator_sa_check(env, inp),
            ));
            "operator-service-account"
        }
        Method::Addon => "inference-operator",
    };
    steps.push(StepDef::new(
        "verify",
        "verify ServiceAccounts, trust policies, operator Deployment and CRDs",
        &[verify_after],
        move |env| super::verify::verify_check(env, inp),
    ));
    if c.migrating {
        steps.push(StepDef::new(
            "helm-leftovers",
            format!("what the Helm release {HELM_RELEASE} still owns, but its CRDs and namespaces, deleted"),
            &["verify"],
            migrate::helm_leftovers_check,
        ));
        steps.push(StepDef::new(
            "helm-release-record",
            format!("the Helm release record of {HELM_RELEASE} removed"),
            &["helm-leftovers"],
            migrate::release_record_check,
        ));
    }
    if !c.skip_test_deployment {
        let mut t = StepDef::new(
            "test-deployment",
            format!("test deployment {TEST_MODEL_NAME} (created, waited for, removed)"),
            &["verify"],
            move |env| operator::test_deployment_check(env, inp),
        );
        t.only_if_changed = true;
        steps.push(t);
    }
    steps
}
