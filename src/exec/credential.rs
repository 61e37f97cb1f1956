//! One Kubernetes credential per run. A kubeconfig written by `aws eks update-kubeconfig` runs
//! `aws eks get-token` (0.5-1 s of CPU) for every kubectl and helm call. Instead, the runner runs
//! the context's credential plugin once, writes the cluster, the context and the token to a
//! private kubeconfig (0600 in a 0700 directory, removed when the run ends or is interrupted)
//! and points the kubectl and helm calls of the run at it. Commands are still shown as the user
//! would type them (with the user's kubeconfig): only the process is given the private one, and
//! the token is in no argv, no output and no log.
//!
//! Nothing changes when the context has no plugin (a static token, a certificate), when its
//! plugin is not a known non-interactive one (`aws eks get-token`, `aws-iam-authenticator
//! token`), when reading the kubeconfig or running the plugin fails (kubectl, running the plugin
//! itself, then reports the trouble exactly as it would without us), or when
//! `KUBECTL_HYPERPOD_CREDENTIAL_CACHE=off`. A token is used only while it stays valid for the
//! whole call plus a minute: it is renewed before, and a call that may outlive any token (such as
//! `helm upgrade --wait` with its 15-minute deadline) runs the plugin itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::private::PrivateDir;
use super::{Cmd, Runner};

/// Which kubeconfig and context a kubectl or helm command talks through (as the user gave them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct KubeTarget {
    pub kubeconfig: Option<String>,
    pub context: Option<String>,
}

/// How long a token must still be valid after the call's deadline.
const MARGIN: Duration = Duration::from_secs(60);

/// The environment variable that turns the per-run credential off.
pub(crate) const SWITCH: &str = "KUBECTL_HYPERPOD_CREDENTIAL_CACHE";

/// The per-run credentials, shared by every runner of one run.
#[derive(Default)]
pub(crate) struct Credentials {
    disabled: bool,
    slots: Mutex<HashMap<KubeTarget, Arc<Mutex<Slot>>>>,
    /// One private directory for every kubeconfig of the run: a renewed token goes to a new file,
    /// so that a command still running keeps the file it was started with.
    dir: Mutex<Option<PrivateDir>>,
    written: Mutex<u32>,
    /// Credentials by the plugin invocation that made them (command, args, env): a kubeconfig
    /// rewritten with the same plugin, or another kubeconfig of the run naming it (the plan's
    /// temporary one, the lock's), gets the same token while it stays valid.
    tokens: Mutex<HashMap<String, (Value, Option<i64>)>>,
}

#[derive(Default)]
enum Slot {
    #[default]
    Unknown,
    /// The user's kubeconfig as it is (no plugin, an unknown one, or it failed).
    AsIs,
    Ready {
        path: String,
        /// Seconds since the epoch; `None` for a credential that does not expire.
        expires: Option<i64>,
        /// The plugin's answer, kept to renew it from the same view.
        view: Value,
    },
}

impl Credentials {
    pub(crate) fn new() -> Self {
        Credentials {
            disabled: std::env::var(SWITCH).is_ok_and(|v| v == "off" || v == "0"),
            ..Default::default()
        }
    }

    /// Forgets every kubeconfig read (a command rewrote a kubeconfig); tokens stay, by the plugin
    /// that made them. Files stay until the run ends.
    pub(crate) fn forget(&self) {
        if let Ok(mut s) = self.slots.lock() {
            s.clear();
        }
    }

    /// The kubeconfig `cmd` should run with instead of the user's, if any.
    pub(crate) fn kubeconfig_for(&self, runner: &Runner, cmd: &Cmd) -> Option<String> {
        let target = cmd.kube.as_ref()?;
        if self.disabled {
            return None;
        }
        let slot = {
            let mut slots = self.slots.lock().ok()?;
            Arc::clone(slots.entry(target.clone()).or_default())
        };
        let mut slot = slot.lock().ok()?;
        let need = crate::time::now() + (cmd.timeout + MARGIN).as_secs() as i64;
        let fresh_enough = |expires: &Option<i64>| expires.is_none_or(|e| e >= need);
        let view = match &*slot {
            Slot::AsIs => return None,
            Slot::Ready { path, expires, .. } if fresh_enough(expires) => {
                return Some(path.clone())
            }
            Slot::Ready { view, .. } => Some(view.clone()),
            Slot::Unknown => None,
        };
        let view = match view {
            Some(v) => v,
            None => match read_view(runner, target) {
                Some(v) => v,
                None => {
                    *slot = Slot::AsIs;
                    return None;
                }
            },
        };
        let key = view["users"][0]["user"]["exec"].to_string();
        let kept = self
            .tokens
            .lock()
            .ok()
            .and_then(|t| t.get(&key).cloned())
            .filter(|(_, expires)| fresh_enough(expires));
        let (user, expires) = match kept {
            Some(k) => k,
            None => {
                let Some(made) = run_plugin(runner, &view) else {
                    *slot = Slot::AsIs;
                    return None;
                };
                if let Ok(mut t) = self.tokens.lock() {
                    t.insert(key, made.clone());
                }
                made
            }
        };
        let Some(path) = self.write(&view, user) else {
            *slot = Slot::AsIs;
            return None;
        };
        *slot = Slot::Ready {
            path: path.clone(),
            expires,
            view,
        };
        // A token that cannot last the call: the plugin runs in kubectl itself this time.
        fresh_enough(&expires).then_some(path)
    }

    fn write(&self, view: &Value, user: Value) -> Option<String> {
        let mut config = view.clone();
        config["users"][0]["user"] = user;
        let mut dir = self.dir.lock().ok()?;
        if dir.is_none() {
            *dir = Some(PrivateDir::new("create the run's kubeconfig").ok()?);
        }
        let mut n = self.written.lock().ok()?;
        *n += 1;
        let name = format!("kubeconfig-{n}");
        let path = dir.as_ref()?.write(
            &name,
            config.to_string().as_bytes(),
            "write the run's kubeconfig",
        );
        Some(path.ok()?.display().to_string())
    }
}

/// `kubectl config view --minify --flatten -o json` for a kubeconfig and context: a kept read, so
/// that whoever else needs the kubeconfig in the run (doctor's context checks) shares this one.
pub(crate) fn view_cmd(kubeconfig: Option<&str>, context: Option<&str>) -> Cmd {
    Cmd::new("kubectl", "read the kubeconfig")
        .opt("--kubeconfig", kubeconfig)
        .opt("--context", context)
        .args(["config", "view", "--minify", "--flatten", "-o", "json"])
        .reusable()
}

/// `kubectl config view --minify --flatten`: the one context, its cluster (certificate inline)
/// and its user; `None` unless that user runs a plugin we know to be non-interactive.
fn read_view(runner: &Runner, t: &KubeTarget) -> Option<Value> {
    let cmd = view_cmd(t.kubeconfig.as_deref(), t.context.as_deref());
    let out = runner.run_unchecked(&cmd).ok()?;
    if !out.success() {
        return None;
    }
    let v: Value = serde_json::from_str(&out.stdout).ok()?;
    let one = |k: &str| v[k].as_array().is_some_and(|a| a.len() == 1);
    if !(one("clusters") && one("contexts") && one("users")) {
        return None;
    }
    known_plugin(&v["users"][0]["user"]["exec"]).then_some(v)
}

/// `aws ... eks get-token ...` or `aws-iam-authenticator token ...`, named plainly or by an
/// absolute path (a relative path is relative to the kubeconfig's directory in kubectl).
fn known_plugin(exec: &Value) -> bool {
    let Some(command) = exec["command"].as_str() else {
        return false;
    };
    if command.contains('/') && !command.starts_with('/') {
        return false;
    }
    let base = command.rsplit('/').next().unwrap_or(command);
    let args: Vec<&str> = exec["args"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match base {
        "aws" => args.windows(2).any(|w| w == ["eks", "get-token"]),
        "aws-iam-authenticator" => args.first() == Some(&"token"),
        _ => false,
    }
}

/// Runs the user's plugin as kubectl would (its args and env, non-interactive) and returns the
/// kubeconfig `user` entry with the credential, and when it expires.
fn run_plugin(runner: &Runner, view: &Value) -> Option<(Value, Option<i64>)> {
    let exec = &view["users"][0]["user"]["exec"];
    let api = exec["apiVersion"]
        .as_str()
        .unwrap_or("client.authentication.k8s.io/v1beta1");
    let mut info =
        json!({"kind": "ExecCredential", "apiVersion": api, "spec": {"interactive": false}});
    if exec["provideClusterInfo"] == true {
        info["spec"]["cluster"] = view["clusters"][0]["cluster"].clone();
    }
    let mut cmd = Cmd::new(
        exec["command"].as_str()?,
        "get a Kubernetes token for the run",
    )
    .args(
        exec["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str),
    )
    .env("KUBERNETES_EXEC_INFO", &info.to_string());
    for e in exec["env"].as_array().into_iter().flatten() {
        if let (Some(k), Some(v)) = (e["name"].as_str(), e["value"].as_str()) {
            cmd = cmd.env(k, v);
        }
    }
    let out = runner.run_unchecked(&cmd).ok()?;
    if !out.success() {
        return None;
    }
    let cred: Value = serde_json::from_str(&out.stdout).ok()?;
    let status = &cred["status"];
    let expires = match status["expirationTimestamp"].as_str() {
        Some(t) => Some(crate::time::parse_rfc3339(t)?),
        None => None,
    };
    // The plugins we run answer with a bearer token (never a client certificate).
    let user = json!({ "token": status["token"].as_str()? });
    Some((user, expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_aws_plugins_only() {
        let aws = json!({"command": "aws", "args": ["--region", "us-east-1", "eks", "get-token", "--cluster-name", "c"]});
        assert!(known_plugin(&aws));
        let abs = json!({"command": "/usr/local/bin/aws", "args": ["eks", "get-token"]});
        assert!(known_plugin(&abs));
        let auth = json!({"command": "aws-iam-authenticator", "args": ["token", "-i", "c"]});
        assert!(known_plugin(&auth));
        for other in [
            json!({"command": "kubelogin", "args": ["get-token"]}),
            json!({"command": "./aws", "args": ["eks", "get-token"]}),
            json!({"command": "aws", "args": ["sts", "get-caller-identity"]}),
            json!(null),
        ] {
            assert!(!known_plugin(&other), "{other}");
        }
    }
}
