//! What the checks look at, fetched once per run: each fact is one external command, run the first
//! time any check asks (or when prefetched at the start), and shared by every check after that.
//! Concurrent askers of the same fact wait for the one fetch instead of repeating it.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

use super::runner::Problem;
use super::DoctorConfig;
use crate::error::{Error, Result};
use crate::exec::{self, Cmd};
use crate::install::installed;
use crate::install::names::{CERT_MANAGER_CRDS, INFERENCE_CRDS, OPERATOR_ADDON, S3_CSI_ADDON};
use crate::install::RoleId;
use crate::tools::aws::{self, CallerIdentity};
use crate::tools::eks::{self, EksCluster};
use crate::tools::iam::{self, ListOidcProviders, ListRoles, Role};
use crate::tools::kube;
use crate::tools::sagemaker::{self, HyperPodCluster};
use crate::tools::Tool;
use crate::Ctx;

/// A fetched fact, or why it could not be fetched; cheap to clone and share between threads.
pub(crate) type Shared<T> = std::result::Result<Arc<T>, Problem>;

/// The value of `flag`, or the error that it was not given.
fn given<'a>(flag: &str, value: &'a Option<String>) -> Result<&'a str> {
    value
        .as_deref()
        .ok_or_else(|| Error::failed(format!("no {flag} given"), None))
}

/// One lazily fetched value.
pub(crate) struct Lazy<T>(OnceLock<Shared<T>>);

impl<T> Default for Lazy<T> {
    fn default() -> Self {
        Lazy(OnceLock::new())
    }
}

impl<T> Lazy<T> {
    pub(crate) fn get(&self, fetch: impl FnOnce() -> Result<T>) -> Shared<T> {
        self.0
            .get_or_init(|| fetch().map(Arc::new).map_err(Problem::from))
            .clone()
    }
}

/// Lazily fetched values by key (roles by name, pods by namespace ...).
pub(crate) struct Memo<K, T>(Mutex<HashMap<K, Arc<Lazy<T>>>>);

impl<K, T> Default for Memo<K, T> {
    fn default() -> Self {
        Memo(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash + Clone, T> Memo<K, T> {
    pub(crate) fn get(&self, key: &K, fetch: impl FnOnce() -> Result<T>) -> Shared<T> {
        let cell = {
            let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(m.entry(key.clone()).or_default())
        };
        cell.get(fetch)
    }
}

/// The cluster-wide objects most checks read, from one `kubectl get` of several kinds.
#[derive(Debug, Default, Clone)]
pub(crate) struct ClusterObjects {
    pub namespaces: Vec<Value>,
    pub nodes: Vec<Value>,
    pub csidrivers: Vec<Value>,
    pub serviceaccounts: Vec<Value>,
    pub deployments: Vec<Value>,
    pub daemonsets: Vec<Value>,
}

impl ClusterObjects {
    pub(crate) fn from_items(items: &[Value]) -> Self {
        let mut c = ClusterObjects::default();
        for it in items {
            let bucket = match it["kind"].as_str() {
                Some("Namespace") => &mut c.namespaces,
                Some("Node") => &mut c.nodes,
                Some("CSIDriver") => &mut c.csidrivers,
                Some("ServiceAccount") => &mut c.serviceaccounts,
                Some("Deployment") => &mut c.deployments,
                Some("DaemonSet") => &mut c.daemonsets,
                _ => continue,
            };
            bucket.push(it.clone());
        }
        c
    }

    pub(crate) fn has_namespace(&self, ns: &str) -> bool {
        self.namespaces
            .iter()
            .any(|n| kube::str_at(n, "/metadata/name") == Some(ns))
    }

    pub(crate) fn has_csidriver(&self, name: &str) -> bool {
        self.csidrivers
            .iter()
            .any(|n| kube::str_at(n, "/metadata/name") == Some(name))
    }

    pub(crate) fn serviceaccount(&self, ns: &str, name: &str) -> Option<&Value> {
        self.serviceaccounts.iter().find(|s| {
            kube::str_at(s, "/metadata/namespace") == Some(ns)
                && kube::str_at(s, "/metadata/name") == Some(name)
        })
    }

    /// Deployments and DaemonSets.
    pub(crate) fn workloads(&self) -> impl Iterator<Item = &Value> {
        self.deployments.iter().chain(self.daemonsets.iter())
    }
}

/// Pods and events of one namespace.
#[derive(Debug, Default, Clone)]
pub(crate) struct NamespaceObjects {
    pub pods: Vec<Value>,
    pub events: Vec<Value>,
}

/// An AWS account and the partition it lives in (`aws`, `aws-cn`, `aws-us-gov`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    pub id: String,
    pub partition: String,
}

impl Account {
    /// From any ARN that names an account (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`).
    pub(crate) fn of_arn(arn: &str) -> Option<Account> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", partition, _, _, account, _]
                if !partition.is_empty() && !account.is_empty() =>
            {
                Some(Account {
                    id: account.to_string(),
                    partition: partition.to_string(),
                })
            }
            _ => None,
        }
    }
}

use crate::tools::aws::BucketState;

const AWS_TIMEOUT: Duration = Duration::from_secs(60);
const KUBE_TIMEOUT: Duration = Duration::from_secs(45);
/// kubectl's own deadline per request, so an unreachable API fails instead of hanging.
const KUBE_REQUEST_TIMEOUT: &str = "--request-timeout=20s";

pub(crate) struct Facts<'a> {
    pub ctx: &'a Ctx,
    pub cfg: &'a DoctorConfig,
    versions: Memo<&'static str, String>,
    identity: Lazy<CallerIdentity>,
    hyperpod: Lazy<HyperPodCluster>,
    eks: Lazy<EksCluster>,
    oidc_providers: Lazy<Vec<String>>,
    roles: Lazy<HashMap<String, Role>>,
    bucket: Lazy<BucketState>,
    addons: Lazy<Vec<String>>,
    addon_roles: Lazy<Vec<(RoleId, String)>>,
    described_addons: Memo<String, Option<eks::Addon>>,
    server: Lazy<Value>,
    kubeconfig: Lazy<Value>,
    cluster: Lazy<ClusterObjects>,
    crds: Lazy<BTreeSet<String>>,
    models: Lazy<Vec<Value>>,
    namespaces: Memo<String, NamespaceObjects>,
    logs: Memo<(String, String, String, bool), String>,
    all_pods: Lazy<Vec<Value>>,
}

impl<'a> Facts<'a> {
    pub(crate) fn new(ctx: &'a Ctx, cfg: &'a DoctorConfig) -> Self {
        Facts {
            ctx,
            cfg,
            versions: Memo::default(),
            identity: Lazy::default(),
            hyperpod: Lazy::default(),
            eks: Lazy::default(),
            oidc_providers: Lazy::default(),
            roles: Lazy::default(),
            bucket: Lazy::default(),
            addons: Lazy::default(),
            addon_roles: Lazy::default(),
            described_addons: Memo::default(),
            server: Lazy::default(),
            kubeconfig: Lazy::default(),
            cluster: Lazy::default(),
            crds: Lazy::default(),
            models: Lazy::default(),
            namespaces: Memo::default(),
            logs: Memo::default(),
            all_pods: Lazy::default(),
        }
    }

    /// kubectl as doctor reads through it: every request bounded.
    fn kube(&self) -> kube::Bounded<'_> {
        kube::Bounded {
            kube: &self.ctx.kube,
            request_timeout: KUBE_REQUEST_TIMEOUT,
        }
    }

    /// The version line a tool prints (the first line of its answer).
    pub(crate) fn tool_version(&self, tool: Tool) -> Shared<String> {
        self.versions.get(&tool.program(), || {
            // `kubectl version -o json` (HP301's call) carries the client's version too.
            if tool == Tool::Kubectl {
                if let Some(v) = self.server().ok().and_then(|v| {
                    v["clientVersion"]["gitVersion"]
                        .as_str()
                        .map(str::to_string)
                }) {
                    return Ok(v);
                }
            }
            let cmd = Cmd::new(
                tool.program(),
                format!("read the {} version", tool.program()),
            )
            .args(tool.version_args().iter().copied())
            .timeout(AWS_TIMEOUT);
            let out = self.ctx.runner.run(&cmd)?;
            let text = if out.stdout.trim().is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            if tool == Tool::Kubectl {
                if let Some(v) = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
                    v["clientVersion"]["gitVersion"]
                        .as_str()
                        .map(str::to_string)
                }) {
                    return Ok(v);
                }
            }
            Ok(text.lines().next().unwrap_or("").trim().to_string())
        })
    }

    pub(crate) fn identity(&self) -> Shared<CallerIdentity> {
        self.identity.get(|| {
            aws::caller_identity(
                &self.ctx.runner,
                &aws::get_caller_identity(&self.ctx.aws, "read the AWS identity")
                    .timeout(AWS_TIMEOUT),
            )
        })
    }

    /// The account and partition doctor works in. With `--hyperpod-cluster`, from the cluster's
    /// ARN (its describe call, made anyway, proves the credentials): no `sts get-caller-identity`.
    /// Without one, or when that describe fails, from the caller's identity.
    pub(crate) fn account(&self) -> std::result::Result<Account, Problem> {
        if self.cfg.hyperpod_cluster.is_some() {
            if let Some(a) = self
                .hyperpod()
                .ok()
                .and_then(|hp| Account::of_arn(&hp.cluster_arn))
            {
                return Ok(a);
            }
        }
        let id = self.identity()?;
        Account::of_arn(&id.arn).ok_or_else(|| {
            Problem::from(Error::failed(
                format!("cannot read an account from {}", id.arn),
                None,
            ))
        })
    }

    /// The HyperPod cluster named by `--hyperpod-cluster`.
    pub(crate) fn hyperpod(&self) -> Shared<HyperPodCluster> {
        self.hyperpod.get(|| {
            let name = given("--hyperpod-cluster", &self.cfg.hyperpod_cluster)?;
            sagemaker::cluster(
                &self.ctx.runner,
                &sagemaker::describe_cluster(
                    &self.ctx.aws,
                    format!("describe HyperPod cluster {name}"),
                    name,
                )
                .timeout(AWS_TIMEOUT),
            )
        })
    }

    /// The EKS cluster name the HyperPod cluster is orchestrated by.
    pub(crate) fn eks_name(&self) -> std::result::Result<String, Problem> {
        let hp = self.hyperpod()?;
        eks_name_of(&hp).ok_or_else(|| {
            Problem::from(Error::failed(
                format!(
                    "HyperPod cluster {} is not orchestrated by EKS",
                    hp.cluster_name
                ),
                None,
            ))
        })
    }

    pub(crate) fn eks(&self) -> Shared<EksCluster> {
        self.eks.get(|| {
            let name = self.eks_name().map_err(|p| clone_err(&p))?;
            eks::cluster(
                &self.ctx.runner,
                &eks::describe_cluster(&self.ctx.aws, &name).timeout(AWS_TIMEOUT),
            )
        })
    }

    pub(crate) fn oidc_providers(&self) -> Shared<Vec<String>> {
        self.oidc_providers.get(|| {
            let l: ListOidcProviders = self
                .ctx
                .runner
                .json(&iam::list_open_id_connect_providers(&self.ctx.aws).timeout(AWS_TIMEOUT))?;
            Ok(l.arns())
        })
    }

    /// Every IAM role of the account, by name: one `list-roles` (the CLI follows the pages)
    /// instead of one process per role, which is what costs time here.
    pub(crate) fn roles(&self) -> Shared<HashMap<String, Role>> {
        self.roles.get(|| {
            let l: ListRoles = self
                .ctx
                .runner
                .json(&iam::list_roles(&self.ctx.aws).timeout(AWS_TIMEOUT * 3))?;
            Ok(l.roles
                .into_iter()
                .map(|r| (r.role_name.clone(), r))
                .collect())
        })
    }

    /// An IAM role; `None` when it does not exist.
    pub(crate) fn role(&self, name: &str) -> std::result::Result<Option<Role>, Problem> {
        Ok(self.roles()?.get(name).cloned())
    }

    pub(crate) fn bucket(&self) -> Shared<BucketState> {
        self.bucket.get(|| {
            let b = given("--s3-bucket", &self.cfg.s3_bucket)?;
            aws::bucket_state(
                &self.ctx.runner,
                &aws::head_bucket(&self.ctx.aws, b).timeout(AWS_TIMEOUT),
            )
        })
    }

    /// Names of the EKS add-ons installed on the cluster.
    pub(crate) fn addons(&self) -> Shared<Vec<String>> {
        self.addons.get(|| {
            let name = self.eks_name().map_err(|p| clone_err(&p))?;
            eks::addon_names(
                &self.ctx.runner,
                &eks::list_addons(&self.ctx.aws, &name).timeout(AWS_TIMEOUT),
            )
        })
    }

    /// One EKS add-on as `describe-addon` tells it; None when `list-addons` does not list it
    /// (then without a call of its own). Each add-on is described once per run.
    pub(crate) fn addon(&self, addon: &str) -> Shared<Option<eks::Addon>> {
        self.described_addons.get(&addon.to_string(), || {
            let listed = self.addons().map_err(|p| clone_err(&p))?;
            if !listed.iter().any(|n| n == addon) {
                return Ok(None);
            }
            let name = self.eks_name().map_err(|p| clone_err(&p))?;
            eks::addon(&self.ctx.runner, &self.ctx.aws, &name, addon)
        })
    }

    /// The role names of the operator add-on's install (its configuration, its S3 CSI add-on's
    /// role); none when the operator is not the add-on.
    pub(crate) fn addon_roles(&self) -> Shared<Vec<(RoleId, String)>> {
        self.addon_roles.get(|| {
            let Some(operator) = self
                .addon(OPERATOR_ADDON)
                .map_err(|p| clone_err(&p))?
                .as_ref()
                .clone()
            else {
                return Ok(Vec::new());
            };
            let s3 = self
                .addon(S3_CSI_ADDON)
                .map_err(|p| clone_err(&p))?
                .as_ref()
                .clone();
            Ok(installed::installed_roles(&operator, s3.as_ref(), None))
        })
    }

    /// `kubectl version`: proves the API answers, and tells its version.
    pub(crate) fn server(&self) -> Shared<Value> {
        self.server.get(|| {
            self.ctx
                .runner
                .json(&self.kube().version().timeout(KUBE_TIMEOUT))
        })
    }

    /// The kubeconfig as kubectl uses it (current context only): the read the run's credential
    /// makes (one process for both). Flattened, so it holds secrets: only names and the server
    /// URL are read from it, nothing of it is printed.
    pub(crate) fn kubeconfig(&self) -> Shared<Value> {
        self.kubeconfig.get(|| {
            let k = &self.ctx.kube;
            self.ctx.runner.json(
                &exec::credential::view_cmd(k.kubeconfig.as_deref(), k.context.as_deref())
                    .timeout(KUBE_TIMEOUT),
            )
        })
    }

    pub(crate) fn cluster(&self) -> Shared<ClusterObjects> {
        self.cluster.get(|| {
            let v: Value = self.ctx.runner.json(
                &self
                    .kube()
                    .list_json(
                        "list namespaces, nodes, CSI drivers, ServiceAccounts, Deployments and DaemonSets",
                        "namespaces,nodes,csidrivers.storage.k8s.io,serviceaccounts,deployments.apps,daemonsets.apps",
                        None,
                    )
                    .timeout(KUBE_TIMEOUT),
            )?;
            Ok(ClusterObjects::from_items(&items_of(&v)))
        })
    }

    /// Which of the CRDs doctor cares about are installed.
    pub(crate) fn crds(&self) -> Shared<BTreeSet<String>> {
        self.crds.get(|| {
            let names: Vec<&str> = INFERENCE_CRDS
                .into_iter()
                .chain(CERT_MANAGER_CRDS)
                .collect();
            let cmd = self
                .kube()
                .crds("look up the inference and cert-manager CRDs", &names)
                .timeout(KUBE_TIMEOUT);
            let out = self.ctx.runner.run(&cmd)?;
            if out.stdout.trim().is_empty() {
                return Ok(BTreeSet::new());
            }
            let v: Value = exec::parse_json(&cmd, &out.stdout)?;
            Ok(items_of(&v)
                .iter()
                .filter_map(|c| kube::str_at(c, "/metadata/name").map(str::to_string))
                .collect())
        })
    }

    /// Which of `wanted` (CRDs that [`Facts::crds`] looks up) are not installed.
    pub(crate) fn missing_crds(
        &self,
        wanted: &[&'static str],
    ) -> Result<Vec<&'static str>, Problem> {
        let have = self.crds()?;
        Ok(wanted
            .iter()
            .copied()
            .filter(|c| !have.contains(*c))
            .collect())
    }

    /// Every JumpStartModel and InferenceEndpointConfig (empty when the CRDs are missing).
    pub(crate) fn models(&self) -> Shared<Vec<Value>> {
        self.models.get(|| {
            let kinds = format!(
                "{},{}",
                super::checks::models::JSM,
                super::checks::models::IEC
            );
            let cmd = self
                .kube()
                .list_json("list the model resources", &kinds, None)
                .timeout(KUBE_TIMEOUT);
            let out = self.ctx.runner.run_unchecked(&cmd)?;
            if !out.success() && !kube::is_unknown_resource(&out) {
                return Err(exec::command_error(&cmd, &out));
            }
            if out.stdout.trim().is_empty() {
                return Ok(Vec::new());
            }
            let v: Value = exec::parse_json(&cmd, &out.stdout)?;
            Ok(items_of(&v))
        })
    }

    /// Pods and events of a namespace, in one call.
    pub(crate) fn namespace(&self, ns: &str) -> Shared<NamespaceObjects> {
        self.namespaces.get(&ns.to_string(), || {
            let v: Value = self.ctx.runner.json(
                &self
                    .kube()
                    .list_json(
                        format!("list the pods and events of namespace {ns}"),
                        "pods,events",
                        Some(ns),
                    )
                    .timeout(KUBE_TIMEOUT),
            )?;
            let mut o = NamespaceObjects::default();
            for it in items_of(&v) {
                match it["kind"].as_str() {
                    Some("Pod") => o.pods.push(it),
                    Some("Event") => o.events.push(it),
                    _ => {}
                }
            }
            Ok(o)
        })
    }

    /// The last lines a container logged (of its previous run with `previous`).
    pub(crate) fn logs(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Shared<String> {
        let key = (ns.into(), pod.into(), container.into(), previous);
        self.logs.get(&key, || {
            let cmd = self.kube().logs_tail(
                format!("read the logs of {ns}/{pod} {container}"),
                (ns, pod),
                container,
                15,
                previous,
            );
            Ok(self.ctx.runner.run(&cmd.timeout(KUBE_TIMEOUT))?.stdout)
        })
    }

    /// Every pod of the cluster (to count the GPUs in use); only asked for when a model waits for GPUs.
    pub(crate) fn all_pods(&self) -> Shared<Vec<Value>> {
        self.all_pods.get(|| {
            let v: Value = self.ctx.runner.json(
                &self
                    .kube()
                    .list_json("list all pods", "pods", None)
                    .timeout(KUBE_TIMEOUT),
            )?;
            Ok(items_of(&v))
        })
    }
}

/// The EKS cluster name in a HyperPod cluster's orchestrator ARN.
pub(crate) fn eks_name_of(hp: &HyperPodCluster) -> Option<String> {
    hp.eks_cluster_name().map(str::to_string)
}

/// The items of a List (or the object itself when kubectl printed one object).
pub(crate) fn items_of(v: &Value) -> Vec<Value> {
    match v.get("items").and_then(Value::as_array) {
        Some(a) => a.clone(),
        None if v.get("kind").is_some() => vec![v.clone()],
        None => Vec::new(),
    }
}

/// A fact's error, re-raised inside another fetch.
fn clone_err(p: &Problem) -> Error {
    Error::failed(p.0.to_string(), p.0.hint())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_account_and_partition_are_read_from_an_arn() {
        assert_eq!(
            Account::of_arn("arn:aws-cn:sagemaker:cn-north-1:111122223333:cluster/abc"),
            Some(Account {
                id: "111122223333".into(),
                partition: "aws-cn".into()
            })
        );
        assert_eq!(
            Account::of_arn("arn:aws:sts::1:assumed-role/R/s").map(|a| a.id),
            Some("1".into())
        );
        // IAM-global ARNs have no region but an account; S3 ARNs have neither.
        assert_eq!(Account::of_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(Account::of_arn("not-an-arn"), None);
    }

    #[test]
    fn cluster_objects_are_sorted_by_kind() {
        let c = ClusterObjects::from_items(&[
            json!({"kind": "Namespace", "metadata": {"name": "a"}}),
            json!({"kind": "CSIDriver", "metadata": {"name": "s3.csi.aws.com"}}),
            json!({"kind": "ServiceAccount", "metadata": {"name": "x", "namespace": "a"}}),
            json!({"kind": "Pod", "metadata": {"name": "p"}}),
        ]);
        assert!(c.has_namespace("a") && !c.has_namespace("b"));
        assert!(c.has_csidriver("s3.csi.aws.com"));
        assert!(c.serviceaccount("a", "x").is_some());
        assert!(c.serviceaccount("b", "x").is_none());
    }

    #[test]
    fn eks_name_comes_from_the_orchestrator_arn() {
        let hp: HyperPodCluster = serde_json::from_value(json!({
            "ClusterArn": "arn:aws:sagemaker:us-west-2:1:cluster/abc",
            "ClusterName": "hp",
            "Orchestrator": {"Eks": {"ClusterArn": "arn:aws:eks:us-west-2:1:cluster/my-eks"}}
        }))
        .unwrap();
        assert_eq!(eks_name_of(&hp).as_deref(), Some("my-eks"));
    }

    #[test]
    fn single_objects_and_lists_both_give_items() {
        assert_eq!(items_of(&json!({"kind": "X"})).len(), 1);
        assert_eq!(items_of(&json!({"kind": "List", "items": [1, 2]})).len(), 2);
        assert!(items_of(&json!({})).is_empty());
    }

    #[test]
    fn a_fact_is_fetched_once() {
        let l: Lazy<u32> = Lazy::default();
        let n = std::sync::atomic::AtomicU32::new(0);
        // All eight ask at the same moment.
        let start = std::sync::Barrier::new(8);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    start.wait();
                    let v = l.get(|| {
                        n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Ok(7)
                    });
                    assert_eq!(*v.unwrap(), 7);
                });
            }
        });
        assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
