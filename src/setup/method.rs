//! Setup's side of an install method: the steps only one method has, behind one trait. The
//! installation's tables (roles, policies, ServiceAccounts, add-ons, namespaces) are the
//! method's `install::MethodDef`; what setup does with them is the same for every method. What
//! differs is here: the preflight (what the method cannot live with), which steps the operator
//! waits for, the operator step itself, cert-manager's source, and what follows the operator
//! before verification.
//!
//! A migration is a composition, not a method: the add-on's install plus the Helm install's
//! [`Retirement`] (its preflight replaces the add-on's, its steps go around the operator's).
//!
//! Adding a method: its tables (`install/<method>.rs`, see `install::Method::def`), a unit
//! struct here implementing [`MethodSteps`], and its arm in [`steps_of`].

use super::steps::SetupInputs;
use super::{addon, cluster, migrate, operator, preflight};
use crate::error::Result;
use crate::install::names::*;
use crate::install::{AddonDef, Installation, Method, RoleId};
use crate::plan::{Check, StepDef, StepEnv};

/// The steps only one install method has.
pub(crate) trait MethodSteps: Sync {
    /// The preflight step's title: what the method checks the cluster for.
    fn preflight_title(&self) -> &'static str;

    /// What the cluster already has that the method cannot live with.
    fn preflight(&self, env: &StepEnv, inp: &SetupInputs) -> Result<Check>;

    /// The steps the operator step waits for besides the add-ons and the gated-model role.
    fn operator_deps(&self, install: &Installation) -> Vec<&'static str>;

    /// The operator step's title.
    fn operator_title(&self, install: &Installation) -> String;

    /// The operator step's check.
    fn operator(&self, env: &StepEnv, inp: &SetupInputs) -> Result<Check>;

    /// The check of a dependency add-on's step (the Helm method takes cert-manager from what the
    /// cluster has when it is not setup's).
    fn addon(&self, env: &StepEnv, inp: &SetupInputs, addon: &AddonDef) -> Result<Check> {
        cluster::addon_check(
            env,
            inp,
            addon,
            addon.role.map(|r| inp.role_arn(r)).as_deref(),
        )
    }

    /// Steps between the operator and verification, and the step verification waits for.
    fn after_operator<'a>(&self, inp: &'a SetupInputs<'a>) -> (Vec<StepDef<'a>>, &'static str);
}

/// `helm upgrade --install` of the inference-operator chart (the guide's Step 10).
struct HelmSteps;

impl MethodSteps for HelmSteps {
    fn preflight_title(&self) -> &'static str {
        "what the cluster already has: an operator add-on, metrics-server, KEDA, a load balancer controller, CSI drivers"
    }

    fn preflight(&self, env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
        preflight::check(env, inp)
    }

    fn operator_deps(&self, _install: &Installation) -> Vec<&'static str> {
        vec![
            "operator-role",
            "alb-service-account",
            "namespaces",
            "keda-role",
        ]
    }

    fn operator_title(&self, install: &Installation) -> String {
        let release = install.release();
        format!("helm release {} in {}", release.name, release.namespace)
    }

    fn operator(&self, env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
        operator::operator_check(env, inp)
    }

    fn addon(&self, env: &StepEnv, inp: &SetupInputs, addon: &AddonDef) -> Result<Check> {
        if addon.name == CERT_MANAGER_ADDON {
            return cluster::cert_manager_check(env, inp);
        }
        cluster::addon_check(
            env,
            inp,
            addon,
            addon.role.map(|r| inp.role_arn(r)).as_deref(),
        )
    }

    /// The chart may leave its ServiceAccount without the role: annotated after the release.
    fn after_operator<'a>(&self, inp: &'a SetupInputs<'a>) -> (Vec<StepDef<'a>>, &'static str) {
        let step = StepDef::new(
            "operator-service-account",
            format!(
                "ServiceAccount {}/{} annotated with the operator role",
                OPERATOR_SA.namespace, OPERATOR_SA.name
            ),
            &["inference-operator"],
            move |env| operator::operator_sa_check(env, inp),
        );
        (vec![step], "operator-service-account")
    }
}

/// The EKS add-on `amazon-sagemaker-hyperpod-inference` with its dependency add-ons.
struct AddonSteps;

impl MethodSteps for AddonSteps {
    fn preflight_title(&self) -> &'static str {
        "what the cluster already has: an operator installed by Helm"
    }

    fn preflight(&self, env: &StepEnv, _inp: &SetupInputs) -> Result<Check> {
        preflight::addon_method_check(env)
    }

    /// The add-on creates its ServiceAccounts and namespace: it needs its roles.
    fn operator_deps(&self, install: &Installation) -> Vec<&'static str> {
        [RoleId::Operator, RoleId::Alb, RoleId::Keda]
            .map(|id| install.role(id).step)
            .to_vec()
    }

    fn operator_title(&self, _install: &Installation) -> String {
        format!("EKS add-on {OPERATOR_ADDON}")
    }

    fn operator(&self, env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
        addon::operator_addon_check(env, inp)
    }

    /// The add-on annotates its own ServiceAccount from its configuration (verify checks it).
    fn after_operator<'a>(&self, _inp: &'a SetupInputs<'a>) -> (Vec<StepDef<'a>>, &'static str) {
        (Vec::new(), "inference-operator")
    }
}

/// The setup steps of `method`: the one place a method's steps are registered.
pub(crate) fn steps_of(method: Method) -> &'static dyn MethodSteps {
    match method {
        Method::Helm => &HelmSteps,
        Method::Addon => &AddonSteps,
    }
}

/// A Helm install retired around the add-on's install (`migrate --to addon`): its preflight
/// (what is installed) replaces the method's, its Deployments go before the operator add-on
/// (metrics-server's add-on waits for them too), and its leftovers and release record after
/// verification.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retirement;

impl Retirement {
    pub(crate) fn preflight(&self, env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
        migrate::preflight_check(env, inp)
    }

    /// `helm-workloads`, once the new roles and the dependency add-ons it does not collide with
    /// are in place (`operator_deps`: what the operator step waits for so far).
    pub(crate) fn before_operator<'a>(
        &self,
        install: &Installation,
        operator_deps: &[&'static str],
    ) -> StepDef<'a> {
        let mut deps = operator_deps.to_vec();
        deps.extend(
            install
                .addons()
                .filter(|a| a.name != METRICS_SERVER_ADDON)
                .map(|a| a.step),
        );
        StepDef::new(
            "helm-workloads",
            "the Helm install's Deployments scaled to 0 and deleted (not helm uninstall: the CRDs and models stay)",
            &deps,
            migrate::helm_workloads_check,
        )
    }

    /// The add-ons that take over what Helm's workloads hold wait for them.
    pub(crate) fn addon_waits(&self, addon: &AddonDef) -> Option<&'static str> {
        (addon.name == METRICS_SERVER_ADDON).then_some("helm-workloads")
    }

    /// What the release still owns (but its CRDs and namespaces), then its record.
    pub(crate) fn after_verify<'a>(&self) -> Vec<StepDef<'a>> {
        vec![
            StepDef::new(
                "helm-leftovers",
                format!("what the Helm release {HELM_RELEASE} still owns, but its CRDs and namespaces, deleted"),
                &["verify"],
                migrate::helm_leftovers_check,
            ),
            StepDef::new(
                "helm-release-record",
                format!("the Helm release record of {HELM_RELEASE} removed"),
                &["helm-leftovers"],
                migrate::release_record_check,
            ),
        ]
    }
}
