//! The cluster states tests start from, as one builder ([`World`]): a new HyperPod cluster
//! (`fresh`), the same set up by `kubectl hyperpod setup ... --yes` (Helm or the EKS add-on),
//! set up and serving the guide's BERT model, or another [`Profile`] (`addon`: the operator
//! as the console installs it). [`World::shared`] gives the tests that only read a cluster one
//! built once per test binary; the guide's model is [`BERT_MODEL_ID`] (common/guide.rs).
//!
//! ```ignore
//! let sb = World::fresh().set_up(&[]).with_model("bert").build();
//! static HEALTHY: OnceLock<Sandbox> = OnceLock::new();
//! let sb = World::fresh().set_up(&[]).shared(&HEALTHY); // a view: own tool log and kubeconfig
//! ```

use super::*;

/// `deploy jumpstart --name NAME --model-id <BERT> --instance-type ml.c5.2xlarge`.
pub fn bert_deploy_args(name: &str) -> Vec<&str> {
    vec![
        "deploy",
        "jumpstart",
        "--name",
        name,
        "--model-id",
        BERT_MODEL_ID,
        "--instance-type",
        BERT_INSTANCE_TYPE,
    ]
}

/// A cluster state to start a test from; [`World::build`] makes it in a new sandbox.
#[derive(Debug, Clone)]
pub struct World {
    profile: Profile,
    kube: serde_json::Map<String, Value>,
    /// Kubernetes objects stored before setup (e.g. nodes).
    objects: Vec<Value>,
    /// `setup`'s flags after `--hyperpod-cluster`/`--s3-bucket`, when the world is set up.
    setup: Option<Vec<String>>,
    /// Names the guide's BERT model is deployed under, after setup.
    models: Vec<String>,
}

impl World {
    /// A new HyperPod EKS cluster ([`Profile::Fresh`]), nothing done to it.
    pub fn fresh() -> Self {
        Self::profile(Profile::Fresh)
    }

    /// The operator already installed as the EKS add-on, as the HyperPod console does it.
    pub fn addon() -> Self {
        Self::profile(Profile::Addon)
    }

    /// The clusters of `profile` as they start.
    pub fn profile(profile: Profile) -> Self {
        World {
            profile,
            kube: serde_json::Map::new(),
            objects: Vec::new(),
            setup: None,
            models: Vec::new(),
        }
    }

    /// Settings of the kube emulator (merged; see [`Sandbox::kube_config`]).
    pub fn kube(mut self, settings: Value) -> Self {
        if let Value::Object(m) = settings {
            self.kube.extend(m);
        }
        self
    }

    /// The emulated operator turns new models DeploymentComplete after `delay` seconds.
    pub fn models_complete(self, delay: f64) -> Self {
        self.kube(json!({"modelOperator": "complete", "modelDelaySeconds": delay}))
    }

    /// Kubernetes objects stored as-is (status included) before anything else runs.
    pub fn objects(mut self, objs: Value) -> Self {
        match objs {
            Value::Array(items) => self.objects.extend(items),
            one => self.objects.push(one),
        }
        self
    }

    /// `setup --hyperpod-cluster <hp> --s3-bucket <bucket> --skip-test-deployment --yes <extra>`
    /// succeeds before the test starts.
    pub fn set_up(self, extra: &[&str]) -> Self {
        let mut args = vec!["--skip-test-deployment", "--yes"];
        args.extend(extra);
        self.setup_args(&args)
    }

    /// Set up by the EKS add-on method (`setup --method addon`).
    pub fn set_up_addon(self) -> Self {
        self.set_up(&["--method", "addon"])
    }

    /// `setup --hyperpod-cluster <hp> --s3-bucket <bucket> <args>` exactly (e.g. with setup's
    /// own test deployment: no `--skip-test-deployment`).
    pub fn setup_args(mut self, args: &[&str]) -> Self {
        self.setup = Some(args.iter().map(|s| s.to_string()).collect());
        self
    }

    /// After setup, the guide's BERT model deployed as `name` in `default` (deploy waits until it
    /// is DeploymentComplete; the emulated operator completes it unless told otherwise).
    pub fn with_model(mut self, name: &str) -> Self {
        if !self.kube.contains_key("modelOperator") {
            self = self.models_complete(0.2);
        }
        self.models.push(name.to_string());
        self
    }

    /// A new sandbox in this state.
    pub fn build(&self) -> Sandbox {
        let sb = self.start();
        self.finish(&sb);
        sb
    }

    /// A new sandbox with the profile, the kube emulator settings and the objects only: the test
    /// adds what is there before setup (and notes the state), then [`World::finish`]es it.
    pub fn start(&self) -> Sandbox {
        self.start_in(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")))
    }

    /// Runs setup and deploys the models on a sandbox from [`World::start`].
    pub fn finish(&self, sb: &Sandbox) {
        if let Some(args) = &self.setup {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            sb.setup(&a).success();
        }
        for name in &self.models {
            sb.deploy_bert(name, &[]).success();
        }
    }

    /// A view of the one sandbox in this state that `cell` holds for the whole test binary (built
    /// by the first test that asks): the same clusters, bucket and AWS account, with the test's
    /// own temp dir (tool log, HOME, kubeconfig copied). For tests that only read the cluster.
    pub fn shared(&self, cell: &'static OnceLock<Sandbox>) -> Sandbox {
        cell.get_or_init(|| {
            let sb = self.start_in(&cloud().run_dir);
            self.finish(&sb);
            sb
        })
        .view()
    }

    fn start_in(&self, parent: &Path) -> Sandbox {
        let sb = cloud().sandbox_in(self.profile, parent);
        if !self.kube.is_empty() {
            sb.kube_config(Value::Object(self.kube.clone()));
        }
        if !self.objects.is_empty() {
            sb.kube_objects(Value::Array(self.objects.clone()));
        }
        sb
    }
}

impl Sandbox {
    /// `kubectl hyperpod setup --hyperpod-cluster <hp> --s3-bucket <bucket> <extra>`.
    pub fn setup(&self, extra: &[&str]) -> Run {
        self.hyperpod_on_cluster("setup", extra)
    }

    /// `kubectl hyperpod doctor --hyperpod-cluster <hp> --s3-bucket <bucket> -o json`.
    pub fn doctor(&self) -> Run {
        self.hyperpod_on_cluster("doctor", &["-o", "json"])
    }

    /// `kubectl hyperpod teardown --hyperpod-cluster <hp> <extra>`.
    pub fn teardown(&self, extra: &[&str]) -> Run {
        self.teardown_with(extra, &[])
    }

    /// [`Sandbox::teardown`] with extra environment variables.
    pub fn teardown_with(&self, extra: &[&str], env: &[(&str, &str)]) -> Run {
        let mut args = vec![
            "teardown",
            "--hyperpod-cluster",
            self.hyperpod_cluster.as_str(),
        ];
        args.extend(extra);
        self.hyperpod_with(&args, env)
    }

    /// Applies the inference CRDs ([`reference_crds`]) with kubectl (through `$KUBECONFIG`).
    pub fn apply_reference_crds(&self) {
        for crd in reference_crds() {
            self.kubectl(&["apply", "-f", crd.to_str().unwrap()])
                .success();
        }
    }

    /// `deploy jumpstart` of the guide's BERT model as `name` on ml.c5.2xlarge, plus `extra`.
    pub fn deploy_bert(&self, name: &str, extra: &[&str]) -> Run {
        let mut args = bert_deploy_args(name);
        args.extend(extra);
        self.hyperpod(&args)
    }

    /// Another handle on this sandbox's clusters, bucket and account with a temp dir of its own
    /// (empty tool log, own HOME; the AWS config and the kubeconfig copied).
    pub fn view(&self) -> Sandbox {
        let dir = new_sandbox_dir(&unique_id(), &PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
        for f in ["aws/config", "aws/credentials", "kubeconfig"] {
            if let Ok(bytes) = fs::read(self.dir().join(f)) {
                fs::write(dir.path().join(f), bytes).expect("copy into the view's dir");
            }
        }
        Sandbox {
            hyperpod_cluster: self.hyperpod_cluster.clone(),
            eks_cluster: self.eks_cluster.clone(),
            bucket: self.bucket.clone(),
            region: self.region.clone(),
            account: self.account.clone(),
            eks_cluster_arn: self.eks_cluster_arn.clone(),
            hyperpod_cluster_arn: self.hyperpod_cluster_arn.clone(),
            vpc_id: self.vpc_id.clone(),
            oidc_issuer: self.oidc_issuer.clone(),
            profile: self.profile,
            nodes: self.nodes.clone(),
            dir,
            cloud: self.cloud,
        }
    }
}

impl Sandbox {
    /// Asserts that the Helm-installed operator's Deployment has its replica available (its init
    /// checks held, cert-manager issued its webhook Secret), read with `kubectl_args` before
    /// `get` (e.g. `--context`) through `$KUBECONFIG`.
    #[track_caller]
    pub fn assert_helm_operator_available_with(&self, kubectl_args: &[&str]) {
        let mut args = kubectl_args.to_vec();
        args.extend([
            "get",
            "deployment",
            "-n",
            "hyperpod-inference-system",
            "hyperpod-inference-operator-controller-manager",
        ]);
        let op = self.kubectl_json(&args);
        assert_eq!(op["status"]["availableReplicas"], 1, "{}", op["status"]);
    }

    /// [`Sandbox::assert_helm_operator_available_with`] through a kubeconfig of the test's own.
    #[track_caller]
    pub fn assert_helm_operator_available(&self) {
        self.with_direct_kubeconfig(|| self.assert_helm_operator_available_with(&[]));
    }
}

/// The inference CRDs of the stand-in chart (`templates/crds/*.yaml`, three), sorted.
pub fn reference_crds() -> Vec<PathBuf> {
    let dir = Sandbox::chart_dir().join("templates/crds");
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    assert_eq!(v.len(), 3, "three CRDs in {}", dir.display());
    v
}

/// The step `id` of a setup or migrate plan (`-o json`'s `plan.steps`).
#[track_caller]
pub fn plan_step(plan: &Value, id: &str) -> Value {
    plan["plan"]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no plan steps in {plan}"))
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {plan}"))
        .clone()
}

/// True when AWS tags (`{"Tags": [{"Key", "Value"}]}`) carry setup's mark.
pub fn marked_by_us(tags: &Value) -> bool {
    tags["Tags"].as_array().is_some_and(|a| {
        a.iter()
            .any(|t| t["Key"] == "managed-by" && t["Value"] == "kubectl-hyperpod")
    })
}
