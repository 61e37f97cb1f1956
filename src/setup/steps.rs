//! The step graph of setup (guide steps 1-12), built from the installation model (`install`):
//! one step per role, policy, ServiceAccount and add-on of the installation's tables, plus the
//! kubeconfig, namespaces, device plugin, the operator (Helm release or EKS add-on, by the
//! installation's method), verification and the test model. Each step is a check that says
//! satisfied / missing / drifted and the exact commands that would bring it in line; the checks
//! live by subject in `iam`, `cluster`, `operator`, `addon` and `verify`.

use serde_json::Value;

use super::iam::{self, RoleSpec};
use super::{cluster, operator, preflight, SetupConfig, StepEnv};
use crate::deploy::resource::JumpStartInput;
use crate::error::Result;
use crate::install::documents::{
    self, AddonConfiguration, Labels, ModelBucketsContext, OperatorValues, PolicyContext,
};
use crate::install::names::*;
use crate::install::target::Target;
use crate::install::{trust, Installation, Managed, PolicyDef, PolicyId, RoleDef, RoleId};
use crate::plan::StepDef;
use crate::tools::kube::{self, ObjectKey};

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
        let mut buckets = env
            .policy(name, &self.policy_arn(def.id))?
            .map(|d| ModelBucketsContext::granted(&d.default_document()))
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
        // Checked against the CRDs as `deploy` checks every model (deploy::workflow).
        Ok(crate::deploy::check::check(model, "default")?.resource)
    }
}

/// Every Kubernetes object setup's checks read by name, read together ([`kube::Batch`]: two
/// processes where one each would be twenty). A check reading something not listed here still
/// works, alone; tests/budget.rs counts the processes.
pub(crate) fn objects_read(inp: &SetupInputs) -> kube::Batch {
    let mut keys = preflight::reads();
    for ns in inp.install.namespaces() {
        keys.push(ObjectKey::new("namespace", ns, None));
    }
    let sas = inp.install.service_accounts().map(|d| d.sa);
    let subjects = inp.install.roles().filter_map(|r| match r.subject {
        crate::install::Subject::ServiceAccount(sa) => Some(sa),
        crate::install::Subject::Pattern(_) => None,
    });
    for sa in sas.chain(subjects).chain([OPERATOR_SA]) {
        keys.push(ObjectKey::new(
            "serviceaccount",
            sa.name,
            Some(sa.namespace),
        ));
    }
    for crd in INFERENCE_CRDS.iter().chain(CERT_MANAGER_CRDS.iter()) {
        keys.push(ObjectKey::new("customresourcedefinition", crd, None));
    }
    keys.push(ObjectKey::new(
        "daemonset",
        NVIDIA_DAEMONSET,
        Some("kube-system"),
    ));
    kube::Batch::new(keys)
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

    let method = super::method::steps_of(install.method);
    // A migration: the Helm install retired around the add-on's (see `setup::method`).
    let retirement = c.migrating.then_some(super::method::Retirement);
    // What the cluster already has that the method cannot live with: checked with the rest of
    // the plan, so a real run refuses before its first change (`preflight`).
    steps.push(StepDef::new(
        "preflight",
        method.preflight_title(),
        &["kubeconfig"],
        move |env| match &retirement {
            Some(r) => r.preflight(env, inp),
            None => method.preflight(env, inp),
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
    let mut operator_deps = method.operator_deps(install);
    for def in install.service_accounts().filter(|s| s.addon.is_some()) {
        steps.push(sa_step(def));
    }
    if let Some(r) = &retirement {
        steps.push(r.before_operator(install, &operator_deps));
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
        deps.extend(retirement.as_ref().and_then(|r| r.addon_waits(addon)));
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
            move |env| method.addon(env, inp, addon),
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
    // The install method decides this step's title and check and what follows it; everything
    // around it (roles, ServiceAccounts, verification) comes from the installation model.
    steps.push(StepDef::new(
        "inference-operator",
        method.operator_title(install),
        &operator_deps,
        move |env| method.operator(env, inp),
    ));
    let (after, verify_after) = method.after_operator(inp);
    steps.extend(after);
    steps.push(StepDef::new(
        "verify",
        "verify ServiceAccounts, trust policies, operator Deployment and CRDs",
        &[verify_after],
        move |env| super::verify::verify_check(env, inp),
    ));
    if let Some(r) = &retirement {
        steps.extend(r.after_verify());
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
