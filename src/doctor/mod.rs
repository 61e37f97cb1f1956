//! `doctor`: finds what is broken in a HyperPod inference setup and says exactly how to fix it.
//!
//! Checks are data (`checks::catalog`): a stable id, a group, prerequisites, and a function that
//! reads shared facts (`facts`, each one external call made once) and returns results with fixes
//! (`report`). The runner (`runner`) runs them concurrently; `fix` applies the safe fixes.
//!
//! ```no_run
//! use kubectl_hyperpod::{doctor::{Doctor, DoctorConfig}, Ctx};
//!
//! let ctx = Ctx::new(Some("us-west-2".into()), None);
//! let cfg = DoctorConfig { hyperpod_cluster: Some("my-hp".into()), ..Default::default() };
//! let report = Doctor::new(&ctx, cfg).unwrap().run(&|_, _| {}).unwrap();
//! for c in report.checks.iter().filter(|c| c.is_problem()) {
//!     println!("{} {}: {}", c.id, c.title, c.finding);
//! }
//! ```

pub(crate) mod apply_fixes;
pub(crate) mod checks;
pub(crate) mod facts;
pub(crate) mod fixes;
pub(crate) mod report;
pub(crate) mod runner;
pub(crate) mod workloads;

use crate::error::{Error, Result};
use crate::install::names::{NameOverrides, Names, OPERATOR_NAMESPACE};
use crate::validate;
use crate::Ctx;
use facts::Facts;
pub use report::{CheckResult, Fix, FixCommand, Group, Report, Status, Summary};

/// What to diagnose.
#[derive(Debug, Clone, Default)]
pub struct DoctorConfig {
    /// Without it, AWS checks that need the cluster are skipped and kubectl's current context is used.
    pub hyperpod_cluster: Option<String>,
    /// The TLS certificate bucket (name, without `s3://`).
    pub s3_bucket: Option<String>,
    /// Focus on one model resource.
    pub model: Option<String>,
    pub model_namespace: Option<String>,
    /// Role names when they differ from setup's derived ones.
    pub overrides: NameOverrides,
}

impl DoctorConfig {
    /// Checks every value against its rule (naming the flag) and normalises the bucket.
    pub fn validated(mut self) -> Result<Self> {
        if let Some(c) = &self.hyperpod_cluster {
            validate::hyperpod_cluster_name("--hyperpod-cluster", c)?;
            Names::derive(c, &self.overrides)?;
        }
        let o = &self.overrides;
        for (flag, v) in [
            ("--operator-role-name", &o.operator_role),
            ("--alb-role-name", &o.alb_role),
            ("--s3-csi-role-name", &o.s3_role),
            ("--keda-role-name", &o.keda_role),
        ] {
            if let Some(v) = v {
                validate::iam_role_name(flag, v)?;
            }
        }
        if let Some(b) = &self.s3_bucket {
            self.s3_bucket = Some(validate::bucket_name("--s3-bucket", b)?);
        }
        if let Some(m) = &self.model {
            validate::k8s_name("MODEL", m)?;
        }
        if let Some(n) = &self.model_namespace {
            if self.model.is_none() {
                return Err(Error::invalid(
                    "--namespace",
                    "is only used together with MODEL",
                ));
            }
            validate::k8s_label_name("--namespace", n)?;
        }
        Ok(self)
    }
}

/// One diagnosis: configuration plus the context it runs in.
pub struct Doctor<'a> {
    ctx: &'a Ctx,
    cfg: DoctorConfig,
}

impl<'a> Doctor<'a> {
    pub fn new(ctx: &'a Ctx, cfg: DoctorConfig) -> Result<Self> {
        Ok(Doctor {
            ctx,
            cfg: cfg.validated()?,
        })
    }

    pub fn config(&self) -> &DoctorConfig {
        &self.cfg
    }

    /// Runs every check (concurrently) and returns the report; never fails because a check did.
    /// `progress(finished, total)` is called as checks finish.
    pub fn run(&self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Report> {
        let checks = checks::catalog(&self.cfg)?;
        let facts = Facts::new(self.ctx, &self.cfg);
        let results = std::thread::scope(|s| {
            prefetch(s, &facts);
            runner::run_all(&checks, &facts, progress)
        });
        Ok(Report::new(results))
    }
}

/// Starts the independent fetches at once, so the run takes as long as its slowest chain of
/// calls rather than their sum (the aws CLI alone costs about half a second per call).
fn prefetch<'scope, 'env>(s: &'scope std::thread::Scope<'scope, 'env>, f: &'scope Facts<'env>) {
    // A fetch that panics is a bug; the check that needs the fact reports it as a failed
    // result, so the prefetch swallows it rather than failing the whole scope.
    let go = |fetch: Box<dyn FnOnce() + Send + 'scope>| {
        s.spawn(move || {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(fetch));
        });
    };
    go(Box::new(|| drop(f.server())));
    go(Box::new(|| drop(f.kubeconfig())));
    go(Box::new(|| drop(f.cluster())));
    go(Box::new(|| drop(f.crds())));
    go(Box::new(|| drop(f.models())));
    go(Box::new(|| drop(f.namespace(OPERATOR_NAMESPACE))));
    if f.cfg.model.is_some() {
        return;
    }
    if f.cfg.hyperpod_cluster.is_none() {
        go(Box::new(|| drop(f.identity())));
    }
    go(Box::new(|| drop(f.oidc_providers())));
    go(Box::new(|| drop(f.roles())));
    if f.cfg.s3_bucket.is_some() {
        go(Box::new(|| drop(f.bucket())));
    }
    if f.cfg.hyperpod_cluster.is_some() {
        go(Box::new(|| drop(f.hyperpod().and_then(|_| f.eks()))));
    }
}
