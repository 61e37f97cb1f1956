//! A test's own sandbox: its EKS and HyperPod clusters, bucket, kubeconfig and tool log, the
//! product and the tools run inside it, and the emulators' hooks.

use super::*;

/// A test's own corner of the emulated cloud.
pub struct Sandbox {
    pub hyperpod_cluster: String,
    pub eks_cluster: String,
    pub bucket: String,
    pub region: String,
    pub account: String,
    pub eks_cluster_arn: String,
    pub hyperpod_cluster_arn: String,
    pub vpc_id: String,
    /// `https://oidc.eks.<region>.amazonaws.com/id/<ID>` of the EKS cluster.
    pub oidc_issuer: String,
    /// What the clusters had before the test ran.
    pub profile: Profile,
    /// Names of the Kubernetes nodes the profile made (none on `Bare`).
    pub nodes: Vec<String>,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) cloud: &'static Cloud,
}

/// Default time limit of one command (override with `HP_TEST_CMD_TIMEOUT` seconds).
pub(crate) fn cmd_timeout() -> Duration {
    std::env::var("HP_TEST_CMD_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(300))
}

impl Sandbox {
    /// The sandbox's temp dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn cloud(&self) -> &'static Cloud {
        self.cloud
    }

    /// `<tempdir>/kubeconfig` (absent until something writes it).
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    pub fn tool_log_path(&self) -> PathBuf {
        self.dir.path().join("tools.log")
    }

    /// The URL of this sandbox's cluster in the kube emulator.
    pub fn kube_server(&self) -> String {
        format!("{}/clusters/{}", self.cloud.kube_url, self.eks_cluster)
    }

    /// The local stand-in of the inference-operator chart.
    pub fn chart_dir() -> PathBuf {
        repo_root().join("tests/env/chart/hyperpod-inference-operator")
    }

    /// The complete environment of every command run in the sandbox (commands get ONLY this
    /// environment, plus LANG/LC_ALL/TMPDIR/RUST_BACKTRACE/RUST_LOG when set).
    pub fn env(&self) -> Vec<(String, String)> {
        let d = self.dir.path();
        let system_path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        let path = format!(
            "{}:{}:{}",
            self.cloud.shim_dir.display(),
            self.cloud.bin_dir.display(),
            system_path
        );
        let s = |p: PathBuf| p.display().to_string();
        vec![
            ("PATH".into(), path),
            ("HOME".into(), s(d.join("home"))),
            ("AWS_ENDPOINT_URL".into(), self.cloud.aws_url.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_DEFAULT_REGION".into(), self.region.clone()),
            ("AWS_REGION".into(), self.region.clone()),
            ("AWS_CONFIG_FILE".into(), s(d.join("aws/config"))),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                s(d.join("aws/credentials")),
            ),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("KUBECONFIG".into(), s(self.kubeconfig_path())),
            ("HP_TOOL_LOG".into(), s(self.tool_log_path())),
            ("NO_COLOR".into(), "1".into()),
            ("HP_CHART_DIR".into(), s(Self::chart_dir())),
        ]
    }

    fn command(&self, program: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).env_clear();
        for k in ["LANG", "LC_ALL", "TMPDIR", "RUST_BACKTRACE", "RUST_LOG"] {
            if let Ok(v) = std::env::var(k) {
                cmd.env(k, v);
            }
        }
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        cmd
    }

    /// Runs the plugin (`CARGO_BIN_EXE_kubectl-hyperpod`) with [`Sandbox::env`], stdin null.
    pub fn hyperpod(&self, args: &[&str]) -> Run {
        self.hyperpod_with(args, &[])
    }

    /// `kubectl hyperpod <command> --hyperpod-cluster <this cluster> --s3-bucket <this bucket>
    /// <extra>` (setup, migrate).
    pub fn hyperpod_on_cluster(&self, command: &str, extra: &[&str]) -> Run {
        self.hyperpod_on_cluster_with(command, extra, &[])
    }

    /// [`Sandbox::hyperpod_on_cluster`] with extra environment (e.g. another caller's keys).
    pub fn hyperpod_on_cluster_with(
        &self,
        command: &str,
        extra: &[&str],
        extra_env: &[(&str, &str)],
    ) -> Run {
        let mut args = vec![
            command,
            "--hyperpod-cluster",
            self.hyperpod_cluster.as_str(),
            "--s3-bucket",
            self.bucket.as_str(),
        ];
        args.extend(extra);
        self.hyperpod_with(&args, extra_env)
    }

    /// `aws eks describe-addon` of this cluster's add-on `name`: its `addon` object, or None
    /// when EKS does not know it.
    pub fn describe_addon(&self, name: &str) -> Option<Value> {
        let r = self.aws(&[
            "eks",
            "describe-addon",
            "--cluster-name",
            &self.eks_cluster,
            "--addon-name",
            name,
        ]);
        (r.code == 0).then(|| r.json()["addon"].clone())
    }

    /// The storage Secrets of the operator chart's Helm release (its record), read directly.
    pub fn helm_release_records(&self) -> Vec<Value> {
        let s = self.with_direct_kubeconfig(|| {
            self.kubectl_json(&[
                "get",
                "secrets",
                "-n",
                "kube-system",
                "-l",
                "owner=helm,name=hyperpod-inference-operator",
            ])
        });
        s["items"].as_array().cloned().unwrap_or_default()
    }

    /// `aws eks create-addon` of add-on `name` on this cluster, not waited for.
    pub fn start_addon(&self, name: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "eks",
            "create-addon",
            "--cluster-name",
            &self.eks_cluster,
            "--addon-name",
            name,
        ];
        args.extend(extra);
        self.aws(&args)
    }

    /// Like [`Sandbox::hyperpod`], with extra environment variables (e.g. HP_FAIL_MATCH).
    pub fn hyperpod_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_kubectl-hyperpod"));
        self.program_with(&exe, args, extra_env)
    }

    /// Like [`Sandbox::hyperpod_with`] with another build of the plugin (benchmarks compare two).
    pub fn program_with(&self, exe: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        run_command(self.command(exe, args, extra_env), "kubectl-hyperpod", args)
    }

    /// Starts the plugin like [`Sandbox::hyperpod_with`] but in the background and in its own
    /// process group (so a test can signal it, or everything it started).
    pub fn spawn_hyperpod(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Spawned {
        use std::os::unix::process::CommandExt as _;
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_kubectl-hyperpod"));
        let mut cmd = self.command(&exe, args, extra_env);
        cmd.process_group(0);
        Spawned::start(cmd, "kubectl-hyperpod (spawned)", args)
    }

    /// Runs the plugin on a pseudo-terminal (util-linux `script`), as a person at a terminal
    /// would, typing `typed` (e.g. "n\n"). `stdout` is everything the terminal showed (prompts,
    /// progress and results together, `\r\n` line ends); the exit code is the plugin's.
    pub fn hyperpod_on_terminal(&self, args: &[&str], typed: &str) -> Run {
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_kubectl-hyperpod"));
        let line = std::iter::once(exe.display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .map(|a| shell_quote(&a))
            .collect::<Vec<_>>()
            .join(" ");
        let script = which::which("script").expect("`script` (util-linux) to run a terminal");
        let mut cmd = self.command(&script, &["-qec", &line, "/dev/null"], &[]);
        let input = self.dir.path().join(format!("typed-{}", unique_id()));
        fs::write(&input, typed).expect("write what is typed");
        cmd.stdin(fs::File::open(&input).expect("open what is typed"));
        run_command(cmd, "kubectl-hyperpod (on a terminal)", args)
    }

    /// Runs a tool of the sandbox's PATH (through its shim, so it is logged) by name.
    pub fn tool(&self, tool: &str, args: &[&str]) -> Run {
        self.tool_with(tool, args, &[])
    }

    pub fn tool_with(&self, tool: &str, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let shim = self.cloud.shim_dir.join(tool);
        let program = if shim.exists() {
            shim
        } else {
            PathBuf::from(tool)
        };
        run_command(self.command(&program, args, extra_env), tool, args)
    }

    /// The real AWS CLI against the AWS emulator. Not recorded in the tool log (the test's own
    /// calls are not the product's).
    pub fn aws(&self, args: &[&str]) -> Run {
        self.direct("aws", args)
    }

    /// `aws ... --output json`, parsed; panics with stderr on failure.
    #[track_caller]
    pub fn aws_json(&self, args: &[&str]) -> Value {
        parsed(&self.aws(&[args, &["--output", "json"]].concat()))
    }

    /// The real kubectl (not recorded in the tool log).
    pub fn kubectl(&self, args: &[&str]) -> Run {
        self.direct("kubectl", args)
    }

    /// `kubectl ... -o json`, parsed; panics with stderr on failure.
    #[track_caller]
    pub fn kubectl_json(&self, args: &[&str]) -> Value {
        parsed(&self.kubectl(&[args, &["-o", "json"]].concat()))
    }

    /// Creates an EKS add-on with the real aws CLI (not recorded) and waits until it is ACTIVE.
    pub fn create_addon(&self, name: &str, extra: &[&str]) {
        self.start_addon(name, extra).success();
        self.aws(&[
            "eks",
            "wait",
            "addon-active",
            "--cluster-name",
            &self.eks_cluster,
            "--addon-name",
            name,
        ])
        .success();
    }

    /// The inference operator's pods (`kubectl get pods -l control-plane=...`, as JSON).
    pub fn operator_pods(&self) -> Value {
        self.kubectl_json(&[
            "get",
            "pods",
            "-n",
            "hyperpod-inference-system",
            "-l",
            "control-plane=hyperpod-inference-operator-controller-manager",
        ])
    }

    /// The real helm (not recorded in the tool log).
    pub fn helm(&self, args: &[&str]) -> Run {
        self.direct("helm", args)
    }

    /// The eksctl stand-in (not recorded in the tool log).
    pub fn eksctl(&self, args: &[&str]) -> Run {
        self.direct("eksctl", args)
    }

    /// Runs `target/e2e-env/bin/<tool>` directly (no shim), with the sandbox's environment but
    /// without HP_TOOL_LOG so that tools it calls are not recorded either.
    fn direct(&self, tool: &str, args: &[&str]) -> Run {
        let program = self.cloud.bin_dir.join(tool);
        let mut cmd = self.command(&program, args, &[]);
        cmd.env_remove("HP_TOOL_LOG");
        run_command(cmd, tool, args)
    }

    /// Writes `$KUBECONFIG` for this sandbox's emulated cluster, like `aws eks
    /// update-kubeconfig` would (same cluster/context names) but with a static token instead of
    /// the `aws eks get-token` exec plugin.
    pub fn write_direct_kubeconfig(&self) {
        fs::write(self.kubeconfig_path(), self.direct_kubeconfig_text()).expect("write kubeconfig");
    }

    /// kubectl through a kubeconfig of the test's own (the static token), unaffected by what the
    /// product writes to the user's kubeconfig meanwhile.
    pub fn kubectl_own(&self, args: &[&str]) -> Run {
        let path = self.dir().join("own-kubeconfig");
        if !path.exists() {
            fs::write(&path, self.direct_kubeconfig_text()).expect("write own kubeconfig");
        }
        let path = path.display().to_string();
        let mut a = vec!["--kubeconfig", path.as_str()];
        a.extend(args);
        self.direct("kubectl", &a)
    }

    fn direct_kubeconfig_text(&self) -> String {
        let name = &self.eks_cluster_arn;
        format!(
            "apiVersion: v1\nkind: Config\npreferences: {{}}\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: {name}\ncontexts:\n- context:\n    cluster: {name}\n    user: {name}\n  name: {name}\ncurrent-context: {name}\nusers:\n- name: {name}\n  user:\n    token: k8s-aws-v1.emulated-direct-token\n",
            ca = self.cloud.kube_ca_data,
            server = self.kube_server(),
        )
    }

    /// Merges settings into this cluster's kube emulator config (`PUT /_emulator/config`):
    /// `autoReadyDeployments`, `modelOperator` ("off"|"complete"|"fail"), `modelDelaySeconds`,
    /// `modelFailReason`, `modelFailMessage`.
    pub fn kube_config(&self, settings: Value) {
        self.kube_hook("PUT", "/_emulator/config", Some(&settings));
    }

    /// Stores objects as-is, status included (`POST /_emulator/objects`): one object, an
    /// array, or `{"items": [...]}`.
    pub fn kube_objects(&self, objs: Value) {
        let body = match objs {
            Value::Array(items) => json!({ "items": items }),
            other => other,
        };
        self.kube_hook("POST", "/_emulator/objects", Some(&body));
    }

    /// Sets the text `kubectl logs` returns for a pod (container: any when None).
    pub fn kube_logs(&self, ns: &str, pod: &str, container: Option<&str>, text: &str) {
        let path = match container {
            Some(c) => format!("/_emulator/logs/{ns}/{pod}/{c}"),
            None => format!("/_emulator/logs/{ns}/{pod}"),
        };
        self.kube_hook_raw("PUT", &path, text.as_bytes(), "text/plain");
    }

    /// The API requests this cluster received (`GET /_emulator/requests`).
    pub fn kube_requests(&self) -> Value {
        self.kube_hook("GET", "/_emulator/requests", None)
    }

    pub fn clear_kube_requests(&self) {
        self.kube_hook("DELETE", "/_emulator/requests", None);
    }

    /// Any kube emulator hook of this sandbox's cluster (`path` starts with `/_emulator/`).
    pub fn kube_hook(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let data = body.map(|b| b.to_string()).unwrap_or_default();
        let out = self.kube_hook_raw(method, path, data.as_bytes(), "application/json");
        if out.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&out).unwrap_or(Value::String(out))
        }
    }

    fn kube_hook_raw(&self, method: &str, path: &str, body: &[u8], content_type: &str) -> String {
        let url = format!("{}{}", self.kube_server(), path);
        https_request(self.cloud, method, &url, body, content_type)
            .unwrap_or_else(|e| panic!("kube emulator hook {method} {url}: {e}"))
    }

    /// Per-cluster behaviour of the emulated EKS add-ons (`PUT /_hp/clusters/<eks>/addon-config`):
    /// `readyAfterDescribes`, `readyAfterSeconds`, `dependencyCheck`, `pushKubeObjects`,
    /// `failures` (`{"<addon>": {"status": "CREATE_FAILED", "issues": [...]}}`).
    pub fn addon_config(&self, settings: Value) -> Value {
        let path = format!(
            "/_hp/clusters/{}/addon-config?region={}",
            self.eks_cluster, self.region
        );
        aws_hook(&self.cloud.aws_url, "PUT", &path, Some(&settings))
            .unwrap_or_else(|e| panic!("aws emulator hook {path}: {e}"))
    }

    /// Each tool invocation recorded by the shims, as `[tool, arg1, arg2, ...]`.
    pub fn tool_log(&self) -> Vec<Vec<String>> {
        let text = fs::read_to_string(self.tool_log_path()).unwrap_or_default();
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('\t').map(unescape).collect())
            .collect()
    }

    /// The tool log as command lines (`tool arg1 arg2`), handy for `contains` checks.
    pub fn tool_log_lines(&self) -> Vec<String> {
        self.tool_log().iter().map(|v| v.join(" ")).collect()
    }

    pub fn clear_tool_log(&self) {
        fs::write(self.tool_log_path(), "").expect("clear tool log");
    }

    pub fn chart_dir_of(&self) -> PathBuf {
        Self::chart_dir()
    }
}

/// A successful run's stdout as JSON (Null when empty); panics with the run on failure.
#[track_caller]
fn parsed(r: &Run) -> Value {
    r.success();
    if r.stdout.trim().is_empty() {
        return Value::Null;
    }
    r.json()
}

pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Plain-HTTP JSON call to the AWS emulator (loopback, HTTP/1.0, no keep-alive).
pub fn aws_hook(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let hostport = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {base}"))?;
    let data = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = TcpStream::connect(hostport).map_err(|e| format!("connect {hostport}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{data}",
        data.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&resp);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("bad HTTP response: {text}"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}: {body}"));
    }
    if body.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))
}

/// HTTPS call to the kube emulator, through the venv's python (urllib with the emulator's CA),
/// so the tests need no TLS crate.
pub(crate) const HTTPS_HELPER: &str = r#"
import sys, ssl, urllib.request, urllib.error
method, url, cafile, ctype = sys.argv[1:5]
data = sys.stdin.buffer.read()
req = urllib.request.Request(url, data=data if method in ("POST", "PUT", "PATCH") else None, method=method)
req.add_header("Content-Type", ctype)
ctx = ssl.create_default_context(cafile=cafile)
try:
    with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
        sys.stdout.buffer.write(r.read())
except urllib.error.HTTPError as e:
    sys.stderr.write("HTTP %d: %s" % (e.code, e.read().decode("utf-8", "replace")))
    sys.exit(1)
"#;

pub(crate) fn https_request(
    cloud: &Cloud,
    method: &str,
    url: &str,
    body: &[u8],
    content_type: &str,
) -> Result<String, String> {
    let python = e2e_env_dir().join("venv/bin/python");
    let mut child = Command::new(&python)
        .args(["-c", HTTPS_HELPER, method, url])
        .arg(&cloud.kube_ca_file)
        .arg(content_type)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(body).map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}
