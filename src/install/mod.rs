//! What an inference-operator installation is, as data: its IAM roles (name rule, trust subject,
//! managed and inline policies), the ServiceAccounts and workloads that use them, namespaces, EKS
//! add-ons, the Helm release, and the tags and labels that mark what is ours (`marks`).
//! Setup builds its steps from it, teardown reverses it, doctor checks against it; none of them
//! keeps its own list. The install method picks the table: the Helm chart (the guide's) or the
//! EKS add-on `amazon-sagemaker-hyperpod-inference` (AWS's recommended one), each a value of
//! [`Method`] whose tables are one file each (`helm.rs`, `addon.rs`: a `MethodDef`, registered
//! in [`Method::def`], which says how to add a method), not a second code path. The rows both
//! methods share or build on are here.
//!
//! `names` holds the fixed names (the chart's real ones, not the guide's) and the IAM name rule;
//! `trust` the IAM trust documents; `target` what an installation is made on (the resolved
//! cluster); `documents` the typed contexts of the templates setup renders; `installed` what an
//! add-on install on the cluster says about itself.

mod addon;
pub mod documents;
mod helm;
pub(crate) mod installed;
pub(crate) mod names;
pub(crate) mod target;
pub mod trust;

use serde::Serialize;
use serde_json::Value;

use crate::tools::kube::str_at;
use names::*;

/// Labels and tags that mark what this tool created, so teardown removes only its own.
pub mod marks {
    /// IAM tag key and value on every role, policy and OIDC provider setup creates.
    pub const TAG_MANAGED_BY: (&str, &str) = ("managed-by", "kubectl-hyperpod");
    /// IAM tag naming the HyperPod cluster a resource was created for.
    pub const TAG_CLUSTER: &str = "kubectl-hyperpod/hyperpod-cluster";
    /// Label on every Kubernetes object setup creates.
    pub const LABEL_MANAGED: (&str, &str) = ("kubectl-hyperpod.io/managed", "true");
    /// Annotation naming the HyperPod cluster a Kubernetes object was created for.
    pub const ANNOTATION_CLUSTER: &str = "kubectl-hyperpod.io/hyperpod-cluster";
}

/// How the inference operator is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// `helm upgrade --install` of the inference-operator chart (the guide's Step 10).
    Helm,
    /// The EKS add-on `amazon-sagemaker-hyperpod-inference` with its dependency add-ons; every
    /// workload runs in `hyperpod-inference-system`.
    Addon,
}

impl Method {
    /// Every method, in the order `--method` lists them.
    #[cfg(test)]
    pub(crate) const ALL: [Method; 2] = [Method::Helm, Method::Addon];

    /// The method's tables: the one place a method is registered.
    ///
    /// Adding an install method: a file `install/<method>.rs` with its `DEF: MethodDef` (roles,
    /// policies, ServiceAccounts, add-ons, namespaces, operator Deployment), a variant here and
    /// its arm below; its setup steps (preflight, the operator step and what follows it) as a
    /// `setup::method::MethodSteps` registered in `setup::method::steps_of`; then the arms the
    /// compiler asks for in teardown (`teardown/steps.rs`) and doctor's detection
    /// (`doctor/checks/addons.rs`).
    pub(crate) fn def(self) -> &'static MethodDef {
        match self {
            Method::Helm => &helm::DEF,
            Method::Addon => &addon::DEF,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.def().name
    }
}

/// What an install method is, as data: its tables ([`Method::def`]).
#[derive(Debug)]
pub(crate) struct MethodDef {
    /// The `--method` value.
    pub(crate) name: &'static str,
    pub(crate) roles: &'static [RoleDef],
    pub(crate) policies: &'static [PolicyDef],
    /// The ServiceAccounts the installation creates itself (the chart or add-on creates the rest).
    pub(crate) service_accounts: &'static [ServiceAccountDef],
    pub(crate) addons: &'static [AddonDef],
    /// The namespaces setup creates.
    pub(crate) namespaces: &'static [&'static str],
    /// The operator's Deployment (in `OPERATOR_NAMESPACE`) as the method names it.
    pub(crate) operator_deployment: &'static str,
}

/// Which parts of an installation are wanted (setup's switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub s3_csi: bool,
    pub fsx_csi: bool,
    pub gated_models: bool,
    /// Model buckets the S3 CSI driver's role may read (`setup --model-bucket`).
    pub model_buckets: bool,
}

impl Options {
    /// Everything setup may have created: what teardown looks for.
    pub const ALL: Options = Options {
        s3_csi: true,
        fsx_csi: true,
        gated_models: true,
        model_buckets: true,
    };

    pub fn wants(&self, when: When) -> bool {
        match when {
            When::Always => true,
            When::S3Csi => self.s3_csi,
            When::ModelBuckets => self.model_buckets,
            When::FsxCsi => self.fsx_csi,
            When::GatedModels => self.gated_models,
        }
    }
}

/// The switch a part of the installation depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    S3Csi,
    FsxCsi,
    GatedModels,
    ModelBuckets,
}

/// The IAM roles of an installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleId {
    Operator,
    Alb,
    S3Csi,
    Keda,
    FsxCsi,
    GatedModel,
}

impl RoleId {
    /// The role's short name (doctor's result subject).
    pub fn as_str(self) -> &'static str {
        match self {
            RoleId::Operator => "operator",
            RoleId::Alb => "alb",
            RoleId::S3Csi => "s3-csi",
            RoleId::Keda => "keda",
            RoleId::FsxCsi => "fsx-csi",
            RoleId::GatedModel => "gated-model",
        }
    }
}

/// The customer-managed IAM policies of an installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyId {
    Alb,
    S3,
    /// Read access to the model buckets (`setup --model-bucket`), on the S3 CSI driver's role.
    ModelBuckets,
}

/// Who a role's web-identity trust admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// Exactly one ServiceAccount (StringEquals).
    ServiceAccount(ServiceAccountRef),
    /// A StringLike pattern of ServiceAccount subjects.
    Pattern(&'static str),
}

impl Subject {
    /// The `:sub` value (or pattern) of the trust policy.
    pub fn sub(&self) -> String {
        match self {
            Subject::ServiceAccount(sa) => sa.subject(),
            Subject::Pattern(p) => p.to_string(),
        }
    }
    pub fn is_pattern(&self) -> bool {
        matches!(self, Subject::Pattern(_))
    }
}

/// A managed policy a role has attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Managed {
    /// An AWS managed policy, by ARN.
    Aws(&'static str),
    /// One of the installation's own policies.
    Ours(PolicyId),
}

/// An inline policy: its name on the role and the template of its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inline {
    pub name: &'static str,
    pub template: &'static str,
}

/// How to recognise a workload: by name, or by one of its labels.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadMatch {
    pub names: &'static [&'static str],
    pub labels: &'static [(&'static str, &'static str)],
    /// Prefer a workload in this namespace when several match.
    pub namespace: Option<&'static str>,
}

impl WorkloadMatch {
    pub fn matches(&self, w: &Value) -> bool {
        let name = str_at(w, "/metadata/name").unwrap_or("");
        if self.names.contains(&name) {
            return true;
        }
        let labels = &w["metadata"]["labels"];
        self.labels
            .iter()
            .any(|(k, v)| labels.get(*k).and_then(Value::as_str) == Some(*v))
    }
}

/// The operator, by the Helm chart's names and by the EKS add-on's.
pub const OPERATOR_WORKLOAD: WorkloadMatch = WorkloadMatch {
    names: &[OPERATOR_DEPLOYMENT, ADDON_OPERATOR_DEPLOYMENT],
    labels: &[
        (
            "control-plane",
            "hyperpod-inference-operator-controller-manager",
        ),
        ("app.kubernetes.io/name", "hyperpod-inference-operator"),
    ],
    namespace: Some(OPERATOR_NAMESPACE),
};
/// The controller as its own chart names it, as the operator chart's `alb` subchart names it
/// (`<release>-alb`: an aliased subchart's name is its alias), and as the EKS add-on names it.
pub const ALB_WORKLOAD: WorkloadMatch = WorkloadMatch {
    names: &[
        "aws-load-balancer-controller",
        ALB_DEPLOYMENT,
        "hyperpod-inference-alb",
    ],
    labels: &[("app.kubernetes.io/name", "aws-load-balancer-controller")],
    namespace: Some(HELM_NAMESPACE),
};
pub const S3_CSI_WORKLOAD: WorkloadMatch = WorkloadMatch {
    names: &["s3-csi-node", "s3-csi-controller"],
    labels: &[("app.kubernetes.io/name", "aws-mountpoint-s3-csi-driver")],
    namespace: Some("kube-system"),
};
pub const KEDA_WORKLOAD: WorkloadMatch = WorkloadMatch {
    names: &["keda-operator"],
    labels: &[
        ("app.kubernetes.io/name", "keda-operator"),
        ("app", "keda-operator"),
    ],
    namespace: Some(KEDA_SA.namespace),
};

/// The NVIDIA device plugin: the guide's manifest (setup's), NVIDIA's chart (HyperPod's
/// `dependencies` release names it `dependencies-nvidia-device-plugin`).
pub const DEVICE_PLUGIN_WORKLOAD: WorkloadMatch = WorkloadMatch {
    names: &[NVIDIA_DAEMONSET, "nvidia-device-plugin"],
    labels: &[
        ("name", "nvidia-device-plugin-ds"),
        ("app.kubernetes.io/name", "nvidia-device-plugin"),
    ],
    namespace: Some("kube-system"),
};

/// One IAM role of an installation.
#[derive(Debug, Clone, Copy)]
pub struct RoleDef {
    pub id: RoleId,
    /// The setup/teardown step that manages it.
    pub step: &'static str,
    /// What it is, in titles: "inference operator role".
    pub what: &'static str,
    /// The component that assumes it, in doctor's messages.
    pub component: &'static str,
    /// The flag that overrides its name.
    pub flag: &'static str,
    /// The guide's name is this prefix followed by the HyperPod cluster name.
    pub prefix: &'static str,
    pub description: &'static str,
    pub subject: Subject,
    /// Also trusted by `sagemaker.amazonaws.com`.
    pub trust_sagemaker: bool,
    pub inline: Option<Inline>,
    pub managed: &'static [Managed],
    pub when: When,
    /// The workload that runs as the role's ServiceAccount (what doctor follows to the real one).
    pub workload: Option<WorkloadMatch>,
}

/// One customer-managed IAM policy of an installation.
#[derive(Debug, Clone, Copy)]
pub struct PolicyDef {
    pub id: PolicyId,
    pub step: &'static str,
    pub what: &'static str,
    pub flag: &'static str,
    pub prefix: &'static str,
    pub description: &'static str,
    pub template: &'static str,
    pub when: When,
}

/// The operator's role as the guide makes it (Helm: the chart's ServiceAccount in its namespace).
pub(super) const OPERATOR_ROLE_HELM: RoleDef = RoleDef {
    id: RoleId::Operator,
    step: "operator-role",
    what: "inference operator role",
    component: "inference operator",
    flag: "--operator-role-name",
    prefix: "HyperpodInferenceRole-",
    description: "SageMaker HyperPod inference operator (kubectl-hyperpod)",
    subject: Subject::ServiceAccount(OPERATOR_SA),
    trust_sagemaker: true,
    inline: Some(Inline {
        name: OPERATOR_INLINE_POLICY,
        template: "iam/operator-permissions.json.j2",
    }),
    managed: &[Managed::Aws(SAGEMAKER_FULL_ACCESS)],
    when: When::Always,
    workload: Some(OPERATOR_WORKLOAD),
};
/// The load balancer controller's role (Helm: the ServiceAccount setup creates in kube-system).
pub(super) const ALB_ROLE_HELM: RoleDef = RoleDef {
    id: RoleId::Alb,
    step: "alb-role",
    what: "load balancer controller role",
    component: "AWS Load Balancer Controller",
    flag: "--alb-role-name",
    prefix: "aws-load-balancer-controller-",
    description: "AWS Load Balancer Controller (kubectl-hyperpod)",
    subject: Subject::ServiceAccount(ALB_SA),
    trust_sagemaker: false,
    inline: None,
    managed: &[Managed::Ours(PolicyId::Alb)],
    when: When::Always,
    workload: Some(ALB_WORKLOAD),
};
/// The S3 CSI driver's role (its add-on's ServiceAccount in kube-system).
pub(super) const S3_ROLE: RoleDef = RoleDef {
    id: RoleId::S3Csi,
    step: "s3-role",
    what: "S3 CSI driver role",
    component: "S3 CSI driver",
    flag: "--s3-csi-role-name",
    prefix: "SM_HP_S3_CSI_ROLE-",
    description: "Mountpoint for Amazon S3 CSI driver (kubectl-hyperpod)",
    subject: Subject::ServiceAccount(S3_CSI_SA),
    trust_sagemaker: false,
    inline: None,
    managed: &[
        Managed::Ours(PolicyId::S3),
        Managed::Ours(PolicyId::ModelBuckets),
    ],
    when: When::S3Csi,
    workload: Some(S3_CSI_WORKLOAD),
};
/// KEDA's role (Helm: the keda subchart runs in the release namespace).
pub(super) const KEDA_ROLE_HELM: RoleDef = RoleDef {
    id: RoleId::Keda,
    step: "keda-role",
    what: "KEDA operator role",
    component: "KEDA operator",
    flag: "--keda-role-name",
    prefix: "keda-operator-role-",
    description: "KEDA operator for HyperPod inference autoscaling (kubectl-hyperpod)",
    subject: Subject::ServiceAccount(KEDA_SA),
    trust_sagemaker: false,
    inline: Some(Inline {
        name: KEDA_INLINE_POLICY,
        template: "iam/keda-permissions.json.j2",
    }),
    managed: &[],
    when: When::Always,
    workload: Some(KEDA_WORKLOAD),
};
/// The FSx CSI driver's role (its add-on's ServiceAccount in kube-system).
pub(super) const FSX_ROLE: RoleDef = RoleDef {
    id: RoleId::FsxCsi,
    step: "fsx-role",
    what: "FSx CSI driver role",
    component: "FSx CSI driver",
    flag: "--fsx-csi-role-name",
    prefix: "SM_HP_FSX_CSI_ROLE-",
    description: "Amazon FSx for Lustre CSI driver (kubectl-hyperpod)",
    subject: Subject::ServiceAccount(FSX_CSI_SA),
    trust_sagemaker: false,
    inline: None,
    managed: &[Managed::Aws(FSX_FULL_ACCESS)],
    when: When::FsxCsi,
    workload: None,
};
/// JumpStart gated-model downloads (per-model ServiceAccounts).
pub(super) const GATED_ROLE: RoleDef = RoleDef {
    id: RoleId::GatedModel,
    step: "gated-model-role",
    what: "JumpStart gated-model download role",
    component: "JumpStart gated-model downloads",
    flag: "--gated-model-role-name",
    prefix: "HyperpodGatedModelRole-",
    description: "JumpStart gated model downloads (kubectl-hyperpod)",
    subject: Subject::Pattern(GATED_SUBJECT_PATTERN),
    trust_sagemaker: true,
    inline: None,
    managed: &[Managed::Aws(GATED_MODEL_ACCESS)],
    when: When::GatedModels,
    workload: None,
};

/// The roles of a Helm install, in the order setup creates them.
/// The load balancer controller's policy (the controller's own v2.13.0 document).
pub(super) const ALB_POLICY: PolicyDef = PolicyDef {
    id: PolicyId::Alb,
    step: "alb-policy",
    what: "load balancer controller policy",
    flag: "--alb-policy-name",
    prefix: "AWSLoadBalancerControllerIAMPolicy-",
    description: "AWS Load Balancer Controller v2.13.0 (kubectl-hyperpod)",
    template: "iam/alb-controller-v2.13.0.json",
    when: When::Always,
};
/// The S3 CSI driver's access to the one bucket.
pub(super) const S3_POLICY: PolicyDef = PolicyDef {
    id: PolicyId::S3,
    step: "s3-policy",
    what: "S3 mountpoint policy",
    flag: "--s3-policy-name",
    prefix: "S3MountpointAccessPolicy-",
    description: "Mountpoint for Amazon S3 CSI driver (kubectl-hyperpod)",
    template: "iam/s3-mountpoint.json.j2",
    when: When::S3Csi,
};

/// The S3 CSI driver's read access to model buckets (`setup --model-bucket`): its own policy,
/// so that it is there only when asked for, and grows (never shrinks) as buckets are added.
pub(super) const MODEL_BUCKETS_POLICY: PolicyDef = PolicyDef {
    id: PolicyId::ModelBuckets,
    step: "model-bucket-policy",
    what: "S3 model bucket read policy",
    flag: "--model-bucket",
    prefix: "S3ModelBucketReadPolicy-",
    description: "Mountpoint for Amazon S3 CSI driver: model buckets (kubectl-hyperpod)",
    template: "iam/s3-model-buckets.json.j2",
    when: When::ModelBuckets,
};

/// A ServiceAccount the installation creates (before the chart) and annotates with a role.
#[derive(Debug, Clone, Copy)]
pub struct ServiceAccountDef {
    pub step: &'static str,
    pub sa: ServiceAccountRef,
    pub role: RoleId,
    /// Labels besides ours, set on creation (the S3 add-on's, so the add-on adopts it).
    pub extra_labels: &'static [(&'static str, &'static str)],
    /// The EKS add-on that adopts it, if any.
    pub addon: Option<&'static str>,
    pub when: When,
}

/// An EKS add-on the installation creates, with the role its ServiceAccount assumes (if any).
#[derive(Debug, Clone, Copy)]
pub struct AddonDef {
    pub step: &'static str,
    pub name: &'static str,
    pub role: Option<RoleId>,
    pub when: When,
    /// The lowest version accepted: an older one is updated to it (the add-on method's
    /// dependencies, at the versions AWS names).
    pub min_version: Option<&'static str>,
}

/// The dependency add-ons of the operator add-on and the lowest version of each it accepts.
pub fn operator_addon_dependencies() -> impl Iterator<Item = (&'static str, &'static str)> {
    addon::DEF
        .addons
        .iter()
        .filter_map(|a| a.min_version.map(|v| (a.name, v)))
}

/// Version numbers of an add-on version (`v1.14.1-eksbuild.1` -> [1, 14, 1, 1]), for ordering.
pub fn version_key(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The Helm release of the operator chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Release {
    pub name: &'static str,
    pub namespace: &'static str,
}

/// An installation: a method, the switches, and every name resolved.
#[derive(Debug, Clone)]
pub struct Installation {
    pub method: Method,
    pub options: Options,
    pub names: Names,
}

impl Installation {
    pub fn new(method: Method, options: Options, names: Names) -> Self {
        Installation {
            method,
            options,
            names,
        }
    }

    /// Every role the method knows, wanted or not (teardown looks for all of them).
    pub fn all_roles(&self) -> &'static [RoleDef] {
        role_defs(self.method)
    }

    /// The roles this installation has.
    pub fn roles(&self) -> impl Iterator<Item = &'static RoleDef> + '_ {
        self.all_roles()
            .iter()
            .filter(|r| self.options.wants(r.when))
    }

    pub fn role(&self, id: RoleId) -> &'static RoleDef {
        role_def(self.method, id)
    }

    /// Every customer-managed policy the method knows.
    pub fn all_policies(&self) -> &'static [PolicyDef] {
        policy_defs(self.method)
    }

    pub fn policies(&self) -> impl Iterator<Item = &'static PolicyDef> + '_ {
        self.all_policies()
            .iter()
            .filter(|p| self.options.wants(p.when))
    }

    pub fn policy(&self, id: PolicyId) -> &'static PolicyDef {
        self.all_policies()
            .iter()
            .find(|p| p.id == id)
            .expect("every PolicyId has a row")
    }

    /// The ServiceAccounts the installation creates itself (the chart creates the others).
    pub fn all_service_accounts(&self) -> &'static [ServiceAccountDef] {
        self.method.def().service_accounts
    }

    pub fn service_accounts(&self) -> impl Iterator<Item = &'static ServiceAccountDef> + '_ {
        self.all_service_accounts()
            .iter()
            .filter(|s| self.options.wants(s.when))
    }

    pub fn all_addons(&self) -> &'static [AddonDef] {
        self.method.def().addons
    }

    pub fn addons(&self) -> impl Iterator<Item = &'static AddonDef> + '_ {
        self.all_addons()
            .iter()
            .filter(|a| self.options.wants(a.when))
    }

    /// The namespaces setup creates (not the guide's `keda`: the chart's KEDA runs in the
    /// release namespace, `names::KEDA_SA`; not `cert-manager`: the EKS add-on brings its own;
    /// none for the add-on method, which creates its own).
    pub fn namespaces(&self) -> &'static [&'static str] {
        self.method.def().namespaces
    }

    /// The Helm release of the operator chart (what the namespace's ownership names).
    pub fn release(&self) -> Release {
        Release {
            name: HELM_RELEASE,
            namespace: HELM_NAMESPACE,
        }
    }

    /// The operator's Deployment (in `OPERATOR_NAMESPACE`) as the method names it.
    pub fn operator_deployment(&self) -> &'static str {
        self.method.def().operator_deployment
    }

    /// A role's resolved name.
    pub fn role_name(&self, id: RoleId) -> &str {
        &self.names.role(id).name
    }

    pub fn policy_name(&self, id: PolicyId) -> &str {
        &self.names.policy(id).name
    }
}

/// A role's row in a method's table.
pub fn role_def(method: Method, id: RoleId) -> &'static RoleDef {
    role_defs(method)
        .iter()
        .find(|r| r.id == id)
        .expect("every RoleId has a row")
}

/// The policy rows of a method.
pub fn policy_defs(method: Method) -> &'static [PolicyDef] {
    method.def().policies
}

/// The role rows of a method.
pub fn role_defs(method: Method) -> &'static [RoleDef] {
    method.def().roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_has_one_row_and_steps_are_unique() {
        for method in Method::ALL {
            let mut steps = std::collections::HashSet::new();
            for r in role_defs(method) {
                assert!(steps.insert(r.step), "{}", r.step);
                assert_eq!(role_def(method, r.id).step, r.step);
            }
            assert_eq!(role_defs(method).len(), 6, "every RoleId");
            for p in policy_defs(method) {
                assert!(steps.insert(p.step), "{}", p.step);
            }
            // A role that uses one of our policies needs the policy's row.
            for r in role_defs(method) {
                for m in r.managed {
                    if let Managed::Ours(id) = m {
                        assert!(policy_defs(method).iter().any(|p| p.id == *id));
                    }
                }
            }
        }
    }

    #[test]
    fn the_add_on_method_scopes_every_role_to_its_namespace_and_needs_both_csi_drivers() {
        let names = Names::derive_for(Method::Addon, "c", &NameOverrides::default()).unwrap();
        let none = Options {
            s3_csi: false,
            fsx_csi: false,
            gated_models: false,
            model_buckets: false,
        };
        let i = Installation::new(Method::Addon, none, names);
        let ids: Vec<RoleId> = i.roles().map(|r| r.id).collect();
        assert_eq!(
            ids,
            [
                RoleId::Operator,
                RoleId::Alb,
                RoleId::S3Csi,
                RoleId::Keda,
                RoleId::FsxCsi
            ]
        );
        assert_eq!(
            i.role_name(RoleId::Operator),
            "SageMakerHyperPodInference-c"
        );
        for id in [RoleId::Operator, RoleId::Alb, RoleId::Keda] {
            let Subject::ServiceAccount(sa) = i.role(id).subject else {
                panic!("{id:?}")
            };
            assert_eq!(sa.namespace, OPERATOR_NAMESPACE, "{id:?}");
        }
        let addons: Vec<&str> = i.addons().map(|a| a.name).collect();
        assert_eq!(
            addons,
            [
                S3_CSI_ADDON,
                FSX_CSI_ADDON,
                CERT_MANAGER_ADDON,
                METRICS_SERVER_ADDON
            ]
        );
        assert!(i.addons().all(|a| a.min_version.is_some()));
        assert!(i.namespaces().is_empty() && i.service_accounts().count() == 0);
        assert_eq!(i.operator_deployment(), ADDON_OPERATOR_DEPLOYMENT);
    }

    #[test]
    fn options_pick_the_parts() {
        let names = Names::derive("c", &NameOverrides::default()).unwrap();
        let none = Options {
            s3_csi: false,
            fsx_csi: false,
            gated_models: false,
            model_buckets: false,
        };
        let i = Installation::new(Method::Helm, none, names.clone());
        let ids: Vec<RoleId> = i.roles().map(|r| r.id).collect();
        assert_eq!(ids, [RoleId::Operator, RoleId::Alb, RoleId::Keda]);
        assert_eq!(i.addons().count(), 1, "cert-manager");
        assert_eq!(i.policies().count(), 1);
        let all = Installation::new(Method::Helm, Options::ALL, names);
        assert_eq!(all.roles().count(), 6);
        assert_eq!(all.addons().count(), 3);
        assert_eq!(all.policies().count(), 3, "ALB, S3, model buckets");
        assert_eq!(all.role_name(RoleId::Operator), "HyperpodInferenceRole-c");
    }
}
