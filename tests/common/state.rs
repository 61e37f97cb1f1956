//! Shared by the setup and teardown end-to-end tests: which tool invocations changed something,
//! and the state of the emulated cloud as one comparable value.

use super::*;

// =============================================================================================
// Shared by the setup and teardown end-to-end tests: which tool invocations changed something,
// and the state of the emulated cloud as one comparable value.
// =============================================================================================

/// Global flags that take their value as the next argument (so it is no sub-command word).
pub(crate) const FLAGS_WITH_VALUES: &[&str] = &[
    "--kubeconfig",
    "--context",
    "--kube-context",
    "-n",
    "--namespace",
    "--request-timeout",
    "--region",
    "--profile",
    "--output",
    "--endpoint-url",
];

/// The sub-command words of a tool invocation: its arguments without flags and their values.
pub(crate) fn command_words(cmd: &[String]) -> Vec<&str> {
    let mut words = Vec::new();
    let mut args = cmd.iter().skip(1).map(String::as_str);
    while let Some(a) = args.next() {
        if FLAGS_WITH_VALUES.contains(&a) {
            args.next();
        } else if !a.starts_with('-') {
            words.push(a);
        }
    }
    words
}

/// The value of `flag` in an invocation (`--flag v` or `--flag=v`).
pub(crate) fn flag_value<'a>(cmd: &'a [String], flag: &str) -> Option<&'a str> {
    let prefix = format!("{flag}=");
    cmd.iter().enumerate().find_map(|(i, a)| {
        if a == flag {
            cmd.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix(&prefix)
        }
    })
}

impl Sandbox {
    /// True for a tool invocation that changes something in AWS, the cluster, a chart checkout
    /// or this sandbox's kubeconfig (`aws eks update-kubeconfig` into a temporary file does
    /// not count; `--dry-run` never does).
    pub fn is_mutating(&self, cmd: &[String]) -> bool {
        let Some(tool) = cmd.first() else {
            return false;
        };
        if cmd
            .iter()
            .any(|a| a == "--dry-run" || a.starts_with("--dry-run="))
        {
            return false;
        }
        let words = command_words(cmd);
        let first = words.first().copied().unwrap_or("");
        match tool.as_str() {
            "aws" => {
                let op = words.get(1).copied().unwrap_or("");
                if op == "update-kubeconfig" {
                    let own = self.kubeconfig_path().display().to_string();
                    return flag_value(cmd, "--kubeconfig").is_none_or(|k| k == own);
                }
                [
                    "create-", "put-", "attach-", "detach-", "update-", "delete-", "tag-",
                    "untag-", "set-", "remove-", "add-",
                ]
                .iter()
                .any(|p| op.starts_with(p))
            }
            "kubectl" => {
                [
                    "apply", "create", "annotate", "label", "patch", "delete", "replace", "scale",
                ]
                .contains(&first)
                    || (first == "rollout" && words.get(1) == Some(&"restart"))
                    || (first == "config"
                        && words.get(1).is_some_and(|w| {
                            w.starts_with("set") || w.starts_with("delete") || *w == "use-context"
                        })
                        && flag_value(cmd, "--kubeconfig")
                            .is_none_or(|k| k == self.kubeconfig_path().display().to_string()))
            }
            "helm" => {
                ["install", "upgrade", "uninstall", "rollback", "dependency"].contains(&first)
            }
            "eksctl" => ["create", "delete", "utils"].contains(&first),
            "git" => true,
            _ => false,
        }
    }

    /// The mutating invocations of the tool log, as command lines.
    pub fn mutating_commands(&self) -> Vec<String> {
        self.tool_log()
            .into_iter()
            .filter(|c| self.is_mutating(c))
            .map(|c| c.join(" "))
            .collect()
    }

    /// Runs `f` with `$KUBECONFIG` pointing at the sandbox's cluster with a static token, then
    /// puts the user's kubeconfig back as it was (absent included).
    pub fn with_direct_kubeconfig<T>(&self, f: impl FnOnce() -> T) -> T {
        let saved = fs::read(self.kubeconfig_path()).ok();
        self.write_direct_kubeconfig();
        let out = f();
        match saved {
            Some(bytes) => fs::write(self.kubeconfig_path(), bytes).expect("restore kubeconfig"),
            None => fs::remove_file(self.kubeconfig_path()).expect("remove kubeconfig"),
        }
        out
    }

    /// Items of `kubectl get <kind> -A`, or none when the kind is not served (CRD not installed).
    pub fn items(&self, kind: &str) -> Vec<Value> {
        let r = self.kubectl(&["get", kind, "-A", "-o", "json"]);
        if r.code != 0 {
            assert!(
                r.stderr.contains("doesn't have a resource type"),
                "{}",
                r.describe()
            );
            return Vec::new();
        }
        r.json()["items"].as_array().cloned().unwrap_or_default()
    }

    /// `teardown --hyperpod-cluster <this cluster> --delete-oidc-provider --yes <extra>`, then
    /// asserts that the cluster is as [`Sandbox::snapshot`] saw it `before`.
    #[track_caller]
    pub fn teardown_restores(&self, before: &Value, extra: &[&str]) {
        let mut args = vec![
            "teardown",
            "--hyperpod-cluster",
            self.hyperpod_cluster.as_str(),
            "--delete-oidc-provider",
            "--yes",
        ];
        args.extend(extra);
        self.hyperpod(&args).success();
        assert_eq!(
            &self.snapshot(),
            before,
            "teardown did not restore the cluster"
        );
    }

    /// Everything setup and teardown could touch that belongs to this sandbox, as one comparable
    /// value: IAM roles, policies and OIDC providers of this cluster (with tags, trust and
    /// policies), add-ons, and listings (with labels, annotations and finalizers) of the
    /// Kubernetes objects involved. Reads the cluster through a kubeconfig of its own.
    pub fn snapshot(&self) -> Value {
        let hp = &self.hyperpod_cluster;
        // One call for every role (trust, inline and attached policies, tags) and local policy.
        let auth = self.aws_json(&[
            "iam",
            "get-account-authorization-details",
            "--filter",
            "Role",
            "LocalManagedPolicy",
        ]);
        let mine = |list: &str, key: &str| -> Vec<Value> {
            let mut v: Vec<Value> = auth[list]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r[key].as_str().unwrap_or("").contains(hp.as_str()))
                .map(|mut r| {
                    // volatile, not state
                    for k in [
                        "RoleLastUsed",
                        "CreateDate",
                        "UpdateDate",
                        "RoleId",
                        "PolicyId",
                    ] {
                        r.as_object_mut().map(|m| m.remove(k));
                    }
                    r
                })
                .collect();
            v.sort_by_key(|r| r[key].to_string());
            v
        };
        let roles = mine("RoleDetailList", "RoleName");
        let policies = mine("Policies", "PolicyName");
        let host = self.oidc_issuer.trim_start_matches("https://").to_string();
        let oidc: Vec<Value> = self.aws_json(&["iam", "list-open-id-connect-providers"])
            ["OpenIDConnectProviderList"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p["Arn"].as_str().unwrap_or("").ends_with(&host))
            .collect();
        let addons = self.aws_json(&["eks", "list-addons", "--cluster-name", &self.eks_cluster])
            ["addons"]
            .clone();
        self.with_direct_kubeconfig(|| {
            let names = |kind: &str| -> Vec<String> {
                let mut v: Vec<String> = self
                    .items(kind)
                    .iter()
                    .map(|o| {
                        format!(
                            "{}/{} labels={} annotations={} finalizers={}",
                            o["metadata"]["namespace"].as_str().unwrap_or(""),
                            o["metadata"]["name"].as_str().unwrap_or(""),
                            o["metadata"]["labels"],
                            o["metadata"]["annotations"],
                            o["metadata"]["finalizers"],
                        )
                    })
                    .collect();
                v.sort();
                v
            };
            let releases = self.helm(&["list", "-A", "-a", "-o", "json"]).json();
            json!({
                "roles": roles, "policies": policies, "oidc": oidc, "addons": addons,
                "namespaces": names("namespaces"),
                "serviceaccounts": names("serviceaccounts"),
                "daemonsets": names("daemonsets"),
                "deployments": names("deployments"),
                "crds": names("customresourcedefinitions"),
                "csidrivers": names("csidrivers"),
                "jumpstartmodels": names("jumpstartmodels.inference.sagemaker.aws.amazon.com"),
                "inferenceendpointconfigs": names("inferenceendpointconfigs.inference.sagemaker.aws.amazon.com"),
                "ingresses": names("ingresses"),
                "releases": releases,
            })
        })
    }
}

#[cfg(test)]
mod shared_state_tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn sub_command_words_skip_global_flags_and_their_values() {
        let c = argv("kubectl --context arn:x --request-timeout=20s apply -f -");
        assert_eq!(command_words(&c), ["apply"]);
        let c = argv("aws iam create-role --role-name r --output json --region us-west-2");
        assert_eq!(command_words(&c), ["iam", "create-role", "r"]);
        assert_eq!(flag_value(&c, "--region"), Some("us-west-2"));
        assert_eq!(
            flag_value(&argv("x --kubeconfig=/k"), "--kubeconfig"),
            Some("/k")
        );
    }
}
