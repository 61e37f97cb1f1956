//! kubectl and helm: argv with --kubeconfig/--context forwarded, JSON output, NotFound detection.

use std::time::Duration;

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
    /// These options, each one left unset taken from `defaults`.
    pub(crate) fn or(&self, defaults: &KubeOpts) -> KubeOpts {
        KubeOpts {
            kubeconfig: self
                .kubeconfig
                .clone()
                .or_else(|| defaults.kubeconfig.clone()),
            context: self.context.clone().or_else(|| defaults.context.clone()),
        }
    }

    /// The same kubeconfig file, with `context`.
    pub(crate) fn in_context(&self, context: String) -> KubeOpts {
        KubeOpts {
            kubeconfig: self.kubeconfig.clone(),
            context: Some(context),
        }
    }

    /// `kubectl [--kubeconfig K] [--context C] <args>`.
    pub(in crate::tools) fn kubectl<S: AsRef<str>>(
        &self,
        purpose: impl Into<String>,
        args: &[S],
    ) -> Cmd {
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
    pub(in crate::tools) fn helm<S: AsRef<str>>(
        &self,
        purpose: impl Into<String>,
        args: &[S],
    ) -> Cmd {
        Cmd::new("helm", purpose)
            .args(args.iter().map(|a| a.as_ref().to_string()))
            .opt("--kubeconfig", self.kubeconfig.as_deref())
            .opt("--kube-context", self.context.as_deref())
            .through(self.target())
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

    /// Lists objects as JSON items; an unknown resource type (CRD not installed) is an empty list.
    pub fn list(
        &self,
        runner: &Runner,
        kind: &str,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Value>> {
        let cmd = list_resource(self, format!("list {kind}"), kind, namespace, selector);
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

/// `(-n NS | --all-namespaces) [-l SELECTOR]`: which objects a list is of.
fn scope_args<'a>(ns: Option<&'a str>, selector: Option<&'a str>) -> Vec<&'a str> {
    let mut args = match ns {
        Some(ns) => vec!["-n", ns],
        None => vec!["--all-namespaces"],
    };
    if let Some(sel) = selector {
        args.extend(["-l", sel]);
    }
    args
}

/// `get KINDS <scope> -o json`: the arguments of a list.
fn list_args<'a>(kinds: &'a str, ns: Option<&'a str>, selector: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec!["get", kinds];
    args.extend(scope_args(ns, selector));
    args.extend(["-o", "json"]);
    args
}

/// One object in a namespace: its resource as kubectl spells it (`deployment`, `lease`,
/// `jumpstartmodels.<group>`), its name and its namespace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'a> {
    pub(crate) resource: &'a str,
    pub(crate) name: &'a str,
    pub(crate) ns: &'a str,
}

/// `kubectl get KIND -o json (-n NS | --all-namespaces) [-l SELECTOR]`: [`list_json`] with
/// `-o json` first (as the model lists and [`KubeOpts::list`] print it).
pub(crate) fn list_resource(
    k: &KubeOpts,
    purpose: impl Into<String>,
    kind: &str,
    ns: Option<&str>,
    selector: Option<&str>,
) -> Cmd {
    let mut args = vec!["get", kind, "-o", "json"];
    args.extend(scope_args(ns, selector));
    k.kubectl(purpose, &args)
}

/// `kubectl get KINDS (-n NS | --all-namespaces) [-l SELECTOR] -o json` (`kinds` may join several
/// with commas): a List of their objects.
pub(crate) fn list_json(
    k: &KubeOpts,
    purpose: impl Into<String>,
    kinds: &str,
    ns: Option<&str>,
    selector: Option<&str>,
) -> Cmd {
    k.kubectl(purpose, &list_args(kinds, ns, selector))
}

/// A `kubectl get` ([`get_json`], [`list_json`]) with `--ignore-not-found`: an object that does
/// not exist, or a kind without objects (or not served), prints nothing.
pub(crate) fn if_any(get: Cmd) -> Cmd {
    get.arg("--ignore-not-found")
}

/// `kubectl get KINDS --all-namespaces`: the table kubectl prints, for a person to read.
pub(crate) fn list_table(k: &KubeOpts, purpose: impl Into<String>, kinds: &str) -> Cmd {
    k.kubectl(purpose, &["get", kinds, "--all-namespaces"])
}

/// `kubectl get RESOURCE NAME -n NS -o json`.
pub(crate) fn get_json(k: &KubeOpts, purpose: impl Into<String>, o: Obj<'_>) -> Cmd {
    k.kubectl(
        purpose,
        &["get", o.resource, o.name, "-n", o.ns, "-o", "json"],
    )
}

/// [`get_json`] `--watch --output-watch-events`: one JSON event per change.
pub(crate) fn watch_json(k: &KubeOpts, purpose: impl Into<String>, o: Obj<'_>) -> Cmd {
    get_json(k, purpose, o).args(["--watch", "--output-watch-events"])
}

/// `kubectl describe RESOURCE NAME -n NS`.
pub(crate) fn describe(k: &KubeOpts, purpose: impl Into<String>, o: Obj<'_>) -> Cmd {
    k.kubectl(purpose, &["describe", o.resource, o.name, "-n", o.ns])
}

/// `kubectl create namespace NAME`.
pub(crate) fn create_namespace(k: &KubeOpts, purpose: impl Into<String>, name: &str) -> Cmd {
    k.kubectl(purpose, &["create", "namespace", name])
        .mutating()
}

/// `kubectl create serviceaccount NAME -n NS`.
pub(crate) fn create_service_account(
    k: &KubeOpts,
    purpose: impl Into<String>,
    ns: &str,
    name: &str,
) -> Cmd {
    k.kubectl(purpose, &["create", "serviceaccount", name, "-n", ns])
        .mutating()
}

/// `kubectl annotate serviceaccount NAME -n NS KEY=VALUE --overwrite`.
pub(crate) fn annotate_service_account(
    k: &KubeOpts,
    purpose: impl Into<String>,
    (ns, name): (&str, &str),
    (key, value): (&str, &str),
) -> Cmd {
    let ann = format!("{key}={value}");
    k.kubectl(
        purpose,
        &[
            "annotate",
            "serviceaccount",
            name,
            "-n",
            ns,
            &ann,
            "--overwrite",
        ],
    )
    .mutating()
}

/// `kubectl apply -f URL`: a published manifest.
pub(crate) fn apply_url(k: &KubeOpts, purpose: impl Into<String>, url: &str) -> Cmd {
    k.kubectl(purpose, &["apply", "-f", url]).mutating()
}

/// `kubectl apply -f -` with a YAML (or JSON) manifest on stdin, printing what kubectl prints.
pub(crate) fn apply_text(
    k: &KubeOpts,
    purpose: impl Into<String>,
    doc_name: &str,
    manifest: String,
) -> Cmd {
    k.kubectl(purpose, &["apply", "-f", "-"])
        .stdin_doc(doc_name, manifest.into_bytes())
        .mutating()
}

/// `kubectl create -f - -o json` (`replace` with `replace`): one object from stdin, which fails
/// when it exists (when it changed since it was read, for `replace`).
pub(crate) fn create_or_replace(
    k: &KubeOpts,
    replace: bool,
    purpose: impl Into<String>,
    doc_name: &str,
    doc: &Value,
) -> Cmd {
    let verb = if replace { "replace" } else { "create" };
    k.kubectl(purpose, &[verb, "-f", "-", "-o", "json"])
        .stdin_doc(doc_name, doc.to_string().into_bytes())
        .mutating()
}

/// `kubectl patch RESOURCE NAME -n NS --type merge -p BODY`.
pub(crate) fn patch_merge(
    k: &KubeOpts,
    purpose: impl Into<String>,
    resource: &str,
    (ns, name): (&str, &str),
    body: &Value,
) -> Cmd {
    let body = body.to_string();
    k.kubectl(
        purpose,
        &[
            "patch", resource, name, "-n", ns, "--type", "merge", "-p", &body,
        ],
    )
    .mutating()
}

/// `kubectl rollout restart RESOURCE/NAME -n NS` (a workload: `deployment`, `daemonset`).
pub(crate) fn rollout_restart(k: &KubeOpts, purpose: impl Into<String>, o: Obj<'_>) -> Cmd {
    let target = format!("{}/{}", o.resource, o.name);
    k.kubectl(purpose, &["rollout", "restart", &target, "-n", o.ns])
        .mutating()
}

/// `kubectl scale deployment NAMES... --replicas=0 -n NS`.
pub(crate) fn scale_deployments_to_zero(
    k: &KubeOpts,
    purpose: impl Into<String>,
    names: &[&str],
    ns: &str,
) -> Cmd {
    let mut args = vec!["scale", "deployment"];
    args.extend(names);
    args.extend(["--replicas=0", "-n", ns]);
    k.kubectl(purpose, &args).mutating()
}

/// `--timeout=Ns`, as kubectl's `delete` and `wait` take it.
fn timeout_flag(t: Duration) -> String {
    format!("--timeout={}s", t.as_secs())
}

/// How a `kubectl delete` goes: printed `[--wait=false] [--ignore-not-found] [--wait=true]
/// [--timeout=Ns]`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Deletion {
    /// `--ignore-not-found`: an object already gone is no error.
    pub(crate) if_any: bool,
    /// `--wait=true` (Some(true)) or `--wait=false` (Some(false)); kubectl's default otherwise.
    pub(crate) wait: Option<bool>,
    /// `--timeout=Ns`.
    pub(crate) timeout: Option<Duration>,
}

impl Deletion {
    /// `--ignore-not-found`.
    pub(crate) const IF_ANY: Deletion = Deletion {
        if_any: true,
        wait: None,
        timeout: None,
    };
    /// `--wait=false`: asks for the deletion and returns (the finalizers run on).
    pub(crate) const ASK: Deletion = Deletion {
        if_any: false,
        wait: Some(false),
        timeout: None,
    };

    /// `--wait=true --timeout=Ns`.
    pub(crate) fn waited(timeout: Duration) -> Deletion {
        Deletion {
            if_any: false,
            wait: Some(true),
            timeout: Some(timeout),
        }
    }

    fn args(self) -> Vec<String> {
        let mut args = Vec::new();
        if self.wait == Some(false) {
            args.push("--wait=false".to_string());
        }
        if self.if_any {
            args.push("--ignore-not-found".to_string());
        }
        if self.wait == Some(true) {
            args.push("--wait=true".to_string());
        }
        args.extend(self.timeout.map(timeout_flag));
        args
    }
}

/// `kubectl delete KIND NAMES... [-n NS] <how>`.
pub(crate) fn delete(
    k: &KubeOpts,
    purpose: impl Into<String>,
    kind: &str,
    names: &[&str],
    ns: Option<&str>,
    how: Deletion,
) -> Cmd {
    let mut args = vec![kind.to_string()];
    args.extend(names.iter().map(|n| n.to_string()));
    delete_args(k, purpose, args, ns, how)
}

/// `kubectl delete KIND -n NS -l SELECTOR`: every object the selector matches.
pub(crate) fn delete_selected(
    k: &KubeOpts,
    purpose: impl Into<String>,
    kind: &str,
    ns: &str,
    selector: &str,
) -> Cmd {
    k.kubectl(purpose, &["delete", kind, "-n", ns, "-l", selector])
        .mutating()
}

/// `kubectl delete REFS... --ignore-not-found [-n NS]`, each ref `kind.group/name`.
pub(crate) fn delete_refs(
    k: &KubeOpts,
    purpose: impl Into<String>,
    refs: &[&str],
    ns: Option<&str>,
) -> Cmd {
    let mut args = vec!["delete"];
    args.extend(refs);
    args.push("--ignore-not-found");
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    k.kubectl(purpose, &args).mutating()
}

fn delete_args(
    k: &KubeOpts,
    purpose: impl Into<String>,
    mut args: Vec<String>,
    ns: Option<&str>,
    how: Deletion,
) -> Cmd {
    args.insert(0, "delete".to_string());
    if let Some(ns) = ns {
        args.extend(["-n".to_string(), ns.to_string()]);
    }
    args.extend(how.args());
    k.kubectl(purpose, &args).mutating()
}

/// `kubectl wait --for=delete RESOURCE/NAME -n NS --timeout=Ns`: until the object is gone.
pub(crate) fn wait_deleted(
    k: &KubeOpts,
    purpose: impl Into<String>,
    resource: &str,
    (ns, name): (&str, &str),
    timeout: Duration,
) -> Cmd {
    let target = format!("{resource}/{name}");
    let to = timeout_flag(timeout);
    k.kubectl(purpose, &["wait", "--for=delete", &target, "-n", ns, &to])
}

/// `kubectl wait deployment/NAME -n NS --for=condition=Available --timeout=Ns`.
/// Whether a Deployment says it is available (`status.conditions[Available]` is `True`), what
/// [`wait_available`] waits for.
pub(crate) fn is_available(deployment: &Value) -> bool {
    deployment["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Available" && c["status"] == "True")
        })
}

pub(crate) fn wait_available(
    k: &KubeOpts,
    purpose: impl Into<String>,
    deployment: &str,
    ns: &str,
    timeout: Duration,
) -> Cmd {
    let target = format!("deployment/{deployment}");
    let to = timeout_flag(timeout);
    k.kubectl(
        purpose,
        &["wait", &target, "-n", ns, "--for=condition=Available", &to],
    )
}

/// Which lines of a log: `-n NS --tail=N [--since=Ss] [--previous]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogWindow<'a> {
    pub(crate) namespace: &'a str,
    /// Lines from the end; -1 for all.
    pub(crate) tail: i64,
    pub(crate) since_seconds: Option<u64>,
    /// The previous (crashed) container's.
    pub(crate) previous: bool,
}

impl LogWindow<'_> {
    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "-n".to_string(),
            self.namespace.to_string(),
            format!("--tail={}", self.tail),
        ];
        if let Some(s) = self.since_seconds {
            args.push(format!("--since={s}s"));
        }
        if self.previous {
            args.push("--previous".into());
        }
        args
    }
}

/// `kubectl logs POD -c CONTAINER <window>`.
pub(crate) fn logs(
    k: &KubeOpts,
    purpose: impl Into<String>,
    pod: &str,
    container: &str,
    window: LogWindow<'_>,
) -> Cmd {
    let mut args = vec![
        "logs".to_string(),
        pod.to_string(),
        "-c".into(),
        container.to_string(),
    ];
    args.extend(window.args());
    k.kubectl(purpose, &args)
}

/// `kubectl logs -f -l SELECTOR --prefix --max-log-requests=20 (-c CONTAINER | --all-containers)
/// <window>`: every matching pod's log as it grows, lines prefixed `[pod/NAME/CONTAINER]`.
pub(crate) fn follow_logs(
    k: &KubeOpts,
    purpose: impl Into<String>,
    selector: &str,
    container: Option<&str>,
    window: LogWindow<'_>,
) -> Cmd {
    let mut args: Vec<String> = [
        "logs",
        "-f",
        "-l",
        selector,
        "--prefix",
        "--max-log-requests=20",
    ]
    .map(String::from)
    .into();
    match container {
        Some(c) => args.extend(["-c".to_string(), c.to_string()]),
        None => args.push("--all-containers".into()),
    }
    args.extend(window.args());
    k.kubectl(purpose, &args)
}

/// `logs -n NS TARGET -c CONTAINER --tail=N [--previous]`: the arguments of a log's last lines.
fn tail_args<'a>(
    ns: &'a str,
    target: &'a str,
    container: &'a str,
    tail: &'a str,
    previous: bool,
) -> Vec<&'a str> {
    let mut args = vec!["logs", "-n", ns, target, "-c", container, tail];
    if previous {
        args.push("--previous");
    }
    args
}

/// `kubectl logs -n NS TARGET -c CONTAINER --tail=N` (`TARGET` a pod, or `deployment/NAME`).
pub(crate) fn logs_tail(
    k: &KubeOpts,
    purpose: impl Into<String>,
    (ns, target): (&str, &str),
    container: &str,
    lines: u32,
) -> Cmd {
    let tail = format!("--tail={lines}");
    k.kubectl(purpose, &tail_args(ns, target, container, &tail, false))
}

/// kubectl with a bound on every request (`--request-timeout=...` before the verb), so that no
/// read hangs on an API server that does not answer: doctor's reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounded<'a> {
    pub(crate) kube: &'a KubeOpts,
    /// `--request-timeout=20s`.
    pub(crate) request_timeout: &'a str,
}

impl Bounded<'_> {
    fn kubectl(&self, purpose: impl Into<String>, args: &[&str]) -> Cmd {
        let mut all = vec![self.request_timeout];
        all.extend_from_slice(args);
        self.kube.kubectl(purpose, &all)
    }

    /// `kubectl version -o json`: proves the API answers, and tells the versions.
    pub(crate) fn version(&self) -> Cmd {
        self.kubectl("reach the Kubernetes API", &["version", "-o", "json"])
    }

    /// [`list_json`], bounded.
    pub(crate) fn list_json(
        &self,
        purpose: impl Into<String>,
        kinds: &str,
        ns: Option<&str>,
    ) -> Cmd {
        self.kubectl(purpose, &list_args(kinds, ns, None))
    }

    /// `kubectl get customresourcedefinitions.apiextensions.k8s.io NAMES... --ignore-not-found -o json`.
    pub(crate) fn crds(&self, purpose: impl Into<String>, names: &[&str]) -> Cmd {
        let mut args = vec!["get", CRD_RESOURCE];
        args.extend(names);
        args.extend(["--ignore-not-found", "-o", "json"]);
        self.kubectl(purpose, &args)
    }

    /// [`logs_tail`] of a pod's container (of its previous run with `previous`), bounded.
    pub(crate) fn logs_tail(
        &self,
        purpose: impl Into<String>,
        (ns, pod): (&str, &str),
        container: &str,
        lines: u32,
        previous: bool,
    ) -> Cmd {
        let tail = format!("--tail={lines}");
        self.kubectl(purpose, &tail_args(ns, pod, container, &tail, previous))
    }
}

/// The ServiceAccount annotation naming the IAM role its pods get (IAM roles for service accounts).
/// This plugin as kubectl runs it, `kubectl hyperpod` and then `words` (a command doctor's
/// fixes show).
pub(crate) fn plugin(purpose: &str, words: &[&str]) -> Cmd {
    Cmd::new("kubectl", purpose)
        .arg("hyperpod")
        .args(words.iter().map(|w| w.to_string()))
}

pub(crate) const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// The resource name of CustomResourceDefinitions, as kubectl takes it.
pub(crate) const CRD_RESOURCE: &str = "customresourcedefinitions.apiextensions.k8s.io";

pub(crate) fn is_not_found(out: &Output) -> bool {
    !out.success() && out.stderr.contains("(NotFound)")
}

pub(crate) fn is_unknown_resource(out: &Output) -> bool {
    !out.success()
        && (out
            .stderr
            .contains("the server doesn't have a resource type")
            || out.stderr.contains("no matches for kind"))
}

/// Reads a string at a JSON pointer, if any.
pub(crate) fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletions_and_lists_keep_each_callers_order() {
        let k = KubeOpts::default();
        let argv = |c: Cmd| c.argv[1..].join(" ");
        let t = Duration::from_secs(9);
        let del = |how| argv(delete(&k, "p", "jsm", &["m"], Some("ns"), how));
        assert_eq!(del(Deletion::default()), "delete jsm m -n ns");
        assert_eq!(del(Deletion::ASK), "delete jsm m -n ns --wait=false");
        assert_eq!(
            del(Deletion {
                if_any: true,
                ..Deletion::ASK
            }),
            "delete jsm m -n ns --wait=false --ignore-not-found"
        );
        assert_eq!(
            del(Deletion {
                if_any: true,
                ..Deletion::waited(t)
            }),
            "delete jsm m -n ns --ignore-not-found --wait=true --timeout=9s"
        );
        assert_eq!(
            del(Deletion {
                timeout: Some(t),
                ..Deletion::IF_ANY
            }),
            "delete jsm m -n ns --ignore-not-found --timeout=9s"
        );
        assert_eq!(
            argv(list_json(&k, "p", "pods", Some("ns"), Some("a=b"))),
            "get pods -n ns -l a=b -o json"
        );
        assert_eq!(
            argv(list_resource(&k, "p", "pods", None, Some("a=b"))),
            "get pods -o json --all-namespaces -l a=b"
        );
    }

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

/// One object a plan reads: kind as kubectl takes it (`serviceaccount`, `deployment`, ...; the
/// singular of the object's `kind`, lower case), name, and namespace (none: cluster-scoped).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ObjectKey {
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) namespace: Option<String>,
}

impl ObjectKey {
    pub(crate) fn new(kind: &str, name: &str, namespace: Option<&str>) -> Self {
        ObjectKey {
            kind: kind.to_string(),
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
        }
    }

    fn matches(&self, obj: &Value) -> bool {
        obj["kind"]
            .as_str()
            .is_some_and(|k| k.eq_ignore_ascii_case(&self.kind))
            && str_at(obj, "/metadata/name") == Some(self.name.as_str())
            && (self.namespace.is_none()
                || str_at(obj, "/metadata/namespace") == self.namespace.as_deref())
    }
}

/// The objects a plan reads, fetched together: one `kubectl get kind/name ... -n NS -o json`
/// per namespace (cluster-scoped objects ride with the first), where single reads would start
/// one process each. The answer is kept for the run like any check's read (`exec::reads`).
/// While executing, only when every object was there: a missing object may be created by a
/// controller at any moment after a change (kubectl exits 1 when one is missing; a later check
/// asks again, one process); while planning nothing changes, and a missing one is an answer
/// (`--ignore-not-found`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Batch {
    groups: Vec<(Option<String>, Vec<ObjectKey>)>,
}

impl Batch {
    pub(crate) fn new(objects: impl IntoIterator<Item = ObjectKey>) -> Self {
        let mut all: Vec<ObjectKey> = objects.into_iter().collect();
        all.sort();
        all.dedup();
        let mut groups: Vec<(Option<String>, Vec<ObjectKey>)> = Vec::new();
        for o in all.iter().filter(|o| o.namespace.is_some()) {
            match groups.iter_mut().find(|(ns, _)| *ns == o.namespace) {
                Some((_, g)) => g.push(o.clone()),
                None => groups.push((o.namespace.clone(), vec![o.clone()])),
            }
        }
        let cluster_scoped = all.into_iter().filter(|o| o.namespace.is_none());
        match groups.first_mut() {
            Some((_, g)) => g.extend(cluster_scoped),
            None => groups.push((None, cluster_scoped.collect())),
        }
        groups.retain(|(_, g)| !g.is_empty());
        Batch { groups }
    }

    /// The object `key` from its group's read: `Some(Some(obj))` found, `Some(None)` kubectl
    /// said it does not exist; `None` when the batch does not hold it or its read failed for
    /// another reason (the caller reads the object alone and gets that read's own error).
    /// `planning`: a missing object's absence may be kept (see [`Batch`]).
    pub(crate) fn get(
        &self,
        kube: &KubeOpts,
        runner: &Runner,
        key: &ObjectKey,
        planning: bool,
    ) -> Result<Option<Option<Value>>> {
        let Some((ns, group)) = self.groups.iter().find(|(_, g)| g.contains(key)) else {
            return Ok(None);
        };
        let mut args: Vec<String> = vec!["get".into()];
        args.extend(group.iter().map(|o| format!("{}/{}", o.kind, o.name)));
        if let Some(ns) = ns {
            args.extend(["-n".into(), ns.clone()]);
        }
        args.extend(["-o".into(), "json".into()]);
        let what = format!("read {} objects at once", group.len());
        let strict = kube.kubectl(&what, &args).reusable();
        args.push("--ignore-not-found".into());
        let lenient = kube.kubectl(what, &args).reusable();
        // While executing, the plan's answer serves as long as nothing has changed since.
        let (planning, out) = match (planning, runner.kept(&lenient)) {
            (true, _) => (true, runner.run_unchecked(&lenient)?),
            (false, Some(kept)) => (true, kept),
            (false, None) => (false, runner.run_unchecked(&strict)?),
        };
        let found: Vec<Value> = match serde_json::from_str::<Value>(&out.stdout) {
            Ok(v) if v["kind"] == "List" => v["items"].as_array().cloned().unwrap_or_default(),
            Ok(v) => vec![v],
            Err(_) => Vec::new(),
        };
        if let Some(obj) = found.into_iter().find(|o| key.matches(o)) {
            return Ok(Some(Some(obj)));
        }
        if planning && out.success() {
            return Ok(Some(None));
        }
        // Missing only when kubectl said so, and every complaint was a NotFound.
        let complaints: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let only_not_found = complaints.iter().all(|l| l.contains("(NotFound)"));
        let said = complaints
            .iter()
            .any(|l| l.contains(&format!("\"{}\" not found", key.name)));
        Ok((!out.success() && only_not_found && said).then_some(None))
    }
}

/// The kubeconfig reduced to one context (`--context`, else the current one) with its cluster
/// and user, certificates inline: `kubectl config view --minify --flatten -o json`, kept for the
/// run. The run's credential reads the same (`exec::credential`), so whoever asks first pays
/// the one process. `None` when kubectl cannot read it (no kubeconfig, no such context).
pub(crate) fn context_view(runner: &Runner, k: &KubeOpts) -> Option<Value> {
    // The credential's own command: the kept answer is shared by argv, so it is built once.
    let cmd = crate::exec::credential::view_cmd(k.kubeconfig.as_deref(), k.context.as_deref());
    let out = runner.run_unchecked(&cmd).ok().filter(Output::success)?;
    serde_json::from_str(&out.stdout).ok()
}

/// The namespace of the kubeconfig's current context (or of `--context`), as kubectl defaults
/// to it; `None` when the context sets none or the kubeconfig cannot be read (the cluster call
/// that follows then says why).
pub(crate) fn context_namespace(runner: &Runner, k: &KubeOpts) -> Option<String> {
    let v = context_view(runner, k)?;
    let ns = v["contexts"][0]["context"]["namespace"].as_str()?;
    (!ns.is_empty()).then(|| ns.to_string())
}

#[cfg(test)]
mod batch_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_batch_reads_one_group_per_namespace_with_cluster_scoped_objects_in_the_first() {
        let b = Batch::new([
            ObjectKey::new("serviceaccount", "a", Some("kube-system")),
            ObjectKey::new("customresourcedefinition", "x.example.com", None),
            ObjectKey::new("deployment", "op", Some("hyperpod-inference-system")),
            ObjectKey::new("serviceaccount", "a", Some("kube-system")),
        ]);
        let groups: Vec<(Option<&str>, usize)> = b
            .groups
            .iter()
            .map(|(ns, g)| (ns.as_deref(), g.len()))
            .collect();
        assert_eq!(
            groups,
            [
                (Some("hyperpod-inference-system"), 2),
                (Some("kube-system"), 1)
            ]
        );
        assert!(
            Batch::new([ObjectKey::new("csidriver", "d", None)]).groups[0]
                .0
                .is_none()
        );
    }

    #[test]
    fn an_object_matches_its_key_by_kind_name_and_namespace() {
        let sa = json!({"kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "kube-system"}});
        assert!(ObjectKey::new("serviceaccount", "a", Some("kube-system")).matches(&sa));
        assert!(!ObjectKey::new("serviceaccount", "a", Some("default")).matches(&sa));
        assert!(!ObjectKey::new("deployment", "a", Some("kube-system")).matches(&sa));
        let crd = json!({"kind": "CustomResourceDefinition", "metadata": {"name": "x"}});
        assert!(ObjectKey::new("customresourcedefinition", "x", None).matches(&crd));
    }
}
