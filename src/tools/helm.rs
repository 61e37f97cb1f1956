//! helm (through [`KubeOpts::helm`]: `--kubeconfig`/`--kube-context` forwarded) and the chart's
//! fetch (git, and `helm dependency update`, which need no cluster).

use std::time::Duration;

use serde_json::Value;

use super::kube::KubeOpts;
use crate::error::Result;
use crate::exec::{Cmd, Runner};

/// How long fetching the chart (clone, checkout, dependencies) may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(300);

/// `RELEASE --namespace NS`: how every release operation names its release.
fn release_args<'a>(verb: &[&'a str], release: &'a str, ns: &'a str) -> Vec<&'a str> {
    let mut args = verb.to_vec();
    args.extend([release, "--namespace", ns]);
    args
}

/// `helm status RELEASE --namespace NS -o json`.
pub(crate) fn status(k: &KubeOpts, release: &str, ns: &str) -> Cmd {
    let mut args = release_args(&["status"], release, ns);
    args.extend(["-o", "json"]);
    k.helm(format!("read helm release {ns}/{release}"), &args)
}

/// `helm status`, or None when there is no such release.
pub(crate) fn release(
    k: &KubeOpts,
    runner: &Runner,
    release: &str,
    ns: &str,
) -> Result<Option<Value>> {
    let cmd = status(k, release, ns);
    let out = runner.run_unchecked(&cmd)?;
    if out.success() {
        return crate::exec::parse_json(&cmd, &out.stdout).map(Some);
    }
    if out.stderr.contains("not found") {
        return Ok(None);
    }
    Err(crate::exec::command_error(&cmd, &out))
}

/// `helm get values RELEASE --namespace NS -o json`: the values a release was installed with.
pub(crate) fn get_values(k: &KubeOpts, purpose: impl Into<String>, release: &str, ns: &str) -> Cmd {
    let mut args = release_args(&["get", "values"], release, ns);
    args.extend(["-o", "json"]);
    k.helm(purpose, &args)
}

/// `helm get manifest RELEASE --namespace NS`: the objects the release installed (YAML).
pub(crate) fn get_manifest(k: &KubeOpts, release: &str, ns: &str) -> Cmd {
    k.helm(
        format!("read the manifest of the Helm release {release}"),
        &release_args(&["get", "manifest"], release, ns),
    )
}

/// `helm history RELEASE --namespace NS --max N -o json`.
pub(crate) fn history(k: &KubeOpts, release: &str, ns: &str, max: u32) -> Cmd {
    let max = max.to_string();
    let mut args = release_args(&["history"], release, ns);
    args.extend(["--max", &max, "-o", "json"]);
    k.helm(format!("read the history of helm release {release}"), &args)
}

/// `helm list --namespace NS --all --filter ^RELEASE$ --selector SELECTOR -o json`: the release
/// when its labels match (Helm keeps them on its storage object).
pub(crate) fn list_labelled(
    k: &KubeOpts,
    purpose: impl Into<String>,
    release: &str,
    ns: &str,
    selector: &str,
) -> Cmd {
    let filter = format!("^{release}$");
    k.helm(
        purpose,
        &[
            "list",
            "--namespace",
            ns,
            "--all",
            "--filter",
            &filter,
            "--selector",
            selector,
            "-o",
            "json",
        ],
    )
}

/// `--wait --timeout Ns`: until the release's objects are ready.
fn wait_args(timeout: Duration) -> [String; 3] {
    [
        "--wait".into(),
        "--timeout".into(),
        format!("{}s", timeout.as_secs()),
    ]
}

/// Which chart a release is installed from, and how.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Install<'a> {
    pub(crate) release: &'a str,
    pub(crate) chart: &'a str,
    pub(crate) namespace: &'a str,
    /// `--labels`: kept on the release's storage object.
    pub(crate) labels: &'a str,
    /// `--wait --timeout`.
    pub(crate) wait: Duration,
}

/// `helm upgrade --install RELEASE CHART --namespace NS --values - --labels L --wait --timeout Ns`
/// with the values on stdin.
pub(crate) fn upgrade_install(
    k: &KubeOpts,
    purpose: impl Into<String>,
    i: Install<'_>,
    values: &Value,
) -> Cmd {
    let mut args: Vec<String> = ["upgrade", "--install", i.release, i.chart]
        .into_iter()
        .chain([
            "--namespace",
            i.namespace,
            "--values",
            "-",
            "--labels",
            i.labels,
        ])
        .map(String::from)
        .collect();
    args.extend(wait_args(i.wait));
    k.helm(purpose, &args)
        .stdin_doc("helm values", values.to_string().into_bytes())
        .mutating()
}

/// `helm rollback RELEASE REVISION --namespace NS [--wait --timeout Ns]`.
pub(crate) fn rollback(
    k: &KubeOpts,
    purpose: impl Into<String>,
    (release, revision): (&str, &str),
    ns: &str,
    wait: Option<Duration>,
) -> Cmd {
    let mut args: Vec<String> = ["rollback", release, revision, "--namespace", ns]
        .map(String::from)
        .into();
    args.extend(wait.map(wait_args).into_iter().flatten());
    k.helm(purpose, &args).mutating()
}

/// `helm uninstall RELEASE --namespace NS --wait --timeout Ns`.
pub(crate) fn uninstall(
    k: &KubeOpts,
    purpose: impl Into<String>,
    release: &str,
    ns: &str,
    wait: Duration,
) -> Cmd {
    let mut args: Vec<String> = release_args(&["uninstall"], release, ns)
        .into_iter()
        .map(String::from)
        .collect();
    args.extend(wait_args(wait));
    k.helm(purpose, &args).mutating()
}

/// The Secret Helm stores a release's revision in.
pub(crate) fn release_secret(release: &str, revision: u64) -> String {
    format!("sh.helm.release.v1.{release}.v{revision}")
}

/// `kubectl delete secret NAME --namespace NS --ignore-not-found`: a release record removed
/// (its objects stay).
pub(crate) fn delete_release_secret(
    k: &KubeOpts,
    purpose: impl Into<String>,
    secret: &str,
    ns: &str,
) -> Cmd {
    k.kubectl(
        purpose,
        &[
            "delete",
            "secret",
            secret,
            "--namespace",
            ns,
            "--ignore-not-found",
        ],
    )
    .mutating()
}

/// `helm dependency update CHART`: the chart's subcharts into its `charts/`.
pub(crate) fn dependency_update(chart: &str) -> Cmd {
    Cmd::new("helm", "fetch the chart's dependencies")
        .args(["dependency", "update", chart])
        .timeout(FETCH_TIMEOUT)
        .mutating()
}

/// `git clone --filter=blob:none --no-checkout URL DIR`: the chart's repository, nothing checked out.
pub(crate) fn clone_chart(url: &str, dir: &str) -> Cmd {
    Cmd::new("git", "fetch the inference operator chart")
        .args(["clone", "--filter=blob:none", "--no-checkout", url, dir])
        .timeout(FETCH_TIMEOUT)
        .mutating()
}

/// `git -C DIR checkout --quiet REFERENCE`: the chart's pinned revision.
pub(crate) fn checkout_chart(dir: &str, reference: &str) -> Cmd {
    Cmd::new(
        "git",
        format!("check out revision {reference} of the chart"),
    )
    .args(["-C", dir, "checkout", "--quiet", reference])
    .timeout(FETCH_TIMEOUT)
    .mutating()
}
