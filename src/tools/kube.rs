//! kubectl and helm: argv with --kubeconfig/--context forwarded, JSON output, NotFound detection.

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::exec::{Cmd, KubeTarget, Output, Runner};

/// Kubernetes options forwarded to every kubectl and helm call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KubeOpts {
    pub kubeconfig: Option<String>,
    pub context: Option<String>,
}

impl KubeOpts {
    /// `kubectl [--kubeconfig K] [--context C] <args>`.
    pub fn kubectl<S: AsRef<str>>(&self, purpose: impl Into<String>, args: &[S]) -> Cmd {
        let cmd = Cmd::new("kubectl", purpose)
            .opt("--kubeconfig", self.kubeconfig.as_deref())
            .opt("--context", self.context.as_deref())
            .args(args.iter().map(|a| a.as_ref().to_string()));
        // `kubectl config ...` reads and writes the kubeconfig itself, not the cluster.
        let verb = args.iter().map(AsRef::as_ref).find(|a| !a.starts_with('-'));
        if verb == Some("config") {
            cmd
        } else {
            cmd.through(self.target())
        }
    }

    /// The kubeconfig and context as given, for the runner's per-run credential.
    pub fn target(&self) -> KubeTarget {
        KubeTarget {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }

    /// `helm <args> [--kubeconfig K] [--kube-context C]`.
    pub fn helm<S: AsRef<str>>(&self, purpose: impl Into<String>, args: &[S]) -> Cmd {
        Cmd::new("helm", purpose)
            .args(args.iter().map(|a| a.as_ref().to_string()))
            .opt("--kubeconfig", self.kubeconfig.as_deref())
            .opt("--kube-context", self.context.as_deref())
            .through(self.target())
    }

    /// `helm get values RELEASE --namespace NS -o json`: the values a release was installed with.
    pub fn helm_values(&self, purpose: impl Into<String>, release: &str, ns: &str) -> Cmd {
        self.helm(
            purpose,
            &["get", "values", release, "--namespace", ns, "-o", "json"],
        )
    }

    /// `kubectl apply -f -` with the manifest on stdin.
    pub fn apply(&self, purpose: impl Into<String>, doc_name: &str, manifest: &Value) -> Cmd {
        self.kubectl(purpose, &["apply", "-f", "-", "-o", "json"])
            .stdin_doc(doc_name, manifest.to_string().into_bytes())
            .mutating()
    }

    /// `kubectl apply` recording `manager` as the field manager, so the cluster's managed fields
    /// (and audit logs) say which part of kubectl-hyperpod wrote what.
    pub fn apply_as(
        &self,
        manager: &str,
        purpose: impl Into<String>,
        doc_name: &str,
        manifest: &Value,
    ) -> Cmd {
        let fm = format!("--field-manager={manager}");
        self.kubectl(purpose, &["apply", fm.as_str(), "-f", "-", "-o", "json"])
            .stdin_doc(doc_name, manifest.to_string().into_bytes())
            .mutating()
    }

    /// Gets one object as JSON; `Ok(None)` when it does not exist. Always read afresh.
    pub fn get(
        &self,
        runner: &Runner,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<Option<Value>> {
        self.get_read(runner, kind, name, namespace, false)
    }

    /// [`Self::get`]; `reuse`: a plan check's read, kept for the run until something changes.
    pub fn get_read(
        &self,
        runner: &Runner,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
        reuse: bool,
    ) -> Result<Option<Value>> {
        let mut args = vec!["get", kind, name, "-o", "json"];
        if let Some(ns) = namespace {
            args.extend(["-n", ns]);
        }
        let what = match namespace {
            Some(ns) => format!("read {kind} {ns}/{name}"),
            None => format!("read {kind} {name}"),
        };
        let mut cmd = self.kubectl(what, &args);
        cmd.reusable = reuse;
        let out = runner.run_unchecked(&cmd)?;
        if out.success() {
            return crate::exec::parse_json(&cmd, &out.stdout).map(Some);
        }
        // A kind whose CRD is not installed has no objects either.
        if is_not_found(&out) || is_unknown_resource(&out) {
            return Ok(None);
        }
        Err(crate::exec::command_error(&cmd, &out))
    }

    /// `helm status RELEASE -o json`, or None when there is no such release.
    pub fn helm_release(&self, runner: &Runner, release: &str, ns: &str) -> Result<Option<Value>> {
        let cmd = self.helm(
            format!("read helm release {ns}/{release}"),
            &["status", release, "--namespace", ns, "-o", "json"],
        );
        let out = runner.run_unchecked(&cmd)?;
        if out.success() {
            return crate::exec::parse_json(&cmd, &out.stdout).map(Some);
        }
        if out.stderr.contains("not found") {
            return Ok(None);
        }
        Err(crate::exec::command_error(&cmd, &out))
    }

    /// Lists objects as JSON items; an unknown resource type (CRD not installed) is an empty list.
    pub fn list(
        &self,
        runner: &Runner,
        kind: &str,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Value>> {
        let mut args: Vec<&str> = vec!["get", kind, "-o", "json"];
        match namespace {
            Some(ns) => args.extend(["-n", ns]),
            None => args.push("--all-namespaces"),
        }
        if let Some(sel) = selector {
            args.extend(["-l", sel]);
        }
        let cmd = self.kubectl(format!("list {kind}"), &args);
        let out = runner.run_unchecked(&cmd)?;
        if !out.success() {
            if is_unknown_resource(&out) {
                return Ok(Vec::new());
            }
            return Err(crate::exec::command_error(&cmd, &out));
        }
        let v: Value = crate::exec::parse_json(&cmd, &out.stdout)?;
        Ok(v["items"].as_array().cloned().unwrap_or_default())
    }
}

pub fn is_not_found(out: &Output) -> bool {
    !out.success() && out.stderr.contains("(NotFound)")
}

pub fn is_unknown_resource(out: &Output) -> bool {
    !out.success()
        && (out
            .stderr
            .contains("the server doesn't have a resource type")
            || out.stderr.contains("no matches for kind"))
}

/// Reads a string at a JSON pointer, if any.
pub fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Escapes a key for a JSON pointer (`/` and `~`).
pub fn ptr_key(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_calls_carry_their_target_and_kubeconfig_edits_do_not() {
        let k = KubeOpts {
            kubeconfig: Some("/home/u/.kube/config".into()),
            context: Some("c".into()),
        };
        let get = k.kubectl("read", &["get", "pods"]);
        assert_eq!(get.kube, Some(k.target()));
        assert!(k.helm("status", &["status", "r"]).kube.is_some());
        for args in [
            &["config", "view"][..],
            &["--request-timeout=20s", "config", "view"],
        ] {
            assert_eq!(
                k.kubectl("read the kubeconfig", args).kube,
                None,
                "{args:?}"
            );
        }
    }
}
