//! The end-to-end test harness: an emulated cloud ("cluster in a box") per test binary.
//!
//! ```ignore
//! mod common;
//! let sb = common::cloud().sandbox();
//! sb.hyperpod(&["setup", "--hyperpod-cluster", &sb.hyperpod_cluster, "--yes"]).success();
//! ```
//!
//! * [`cloud`] provisions the tools once (`tests/env/provision.sh`: real aws CLI v1, kubectl,
//!   helm, moto in `target/e2e-env/`), then starts the Kubernetes API emulator
//!   (`tests/env/kube_emulator.py`) and the AWS emulator (`tests/env/aws_emulator.py`) once per
//!   test binary. Both exit when the test binary exits (their stdin closes).
//! * [`Cloud::sandbox`] gives each test its own EKS cluster (backed by its own cluster in the
//!   kube emulator), HyperPod cluster, S3 bucket, temp dir, kubeconfig and tool log, so tests
//!   run in parallel; the clusters start as a new HyperPod cluster has them ([`Profile::Fresh`];
//!   [`Cloud::sandbox_with`] for the other [`Profile`]s).
//! * Every tool the product runs goes through a shim (`aws`, `kubectl`, `helm`, `eksctl`,
//!   `git`) that records the invocation in `HP_TOOL_LOG` and can inject failures
//!   (`HP_FAIL_MATCH`: one or more newline-separated patterns, `HP_FAIL_CODE`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// Region of every sandbox.
pub const REGION: &str = "us-west-2";
/// The emulated account (moto's default).
pub const ACCOUNT: &str = "123456789012";

const START_TIMEOUT: Duration = Duration::from_secs(60);

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/e2e-env` (or `$HP_E2E_ENV`), where provision.sh installs the tools.
pub fn e2e_env_dir() -> PathBuf {
    match std::env::var_os("HP_E2E_ENV") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join("target").join("e2e-env"),
    }
}

/// The emulated cloud of this test binary.
pub struct Cloud {
    /// Base URL of the Kubernetes API emulator (`https://127.0.0.1:PORT`).
    pub kube_url: String,
    /// Path of the kube emulator's CA certificate (PEM).
    pub kube_ca_file: PathBuf,
    /// Base64 of that PEM (kubeconfig `certificate-authority-data`).
    pub kube_ca_data: String,
    /// URL of the AWS emulator (`http://127.0.0.1:PORT`), used as `AWS_ENDPOINT_URL`.
    pub aws_url: String,
    /// `target/e2e-env/bin`: real aws, kubectl, helm, python, eksctl stand-in.
    pub bin_dir: PathBuf,
    /// The shims (first on PATH in sandboxes).
    pub shim_dir: PathBuf,
    /// Per-run directory (emulator state files and logs).
    pub run_dir: PathBuf,
    children: Mutex<Vec<(Child, Option<ChildStdin>)>>,
}

static CLOUD: OnceLock<Result<Cloud, String>> = OnceLock::new();

/// The emulated cloud of this test binary, started on first use. Panics (never skips) when the
/// tools cannot be provisioned or an emulator does not come up.
pub fn cloud() -> &'static Cloud {
    match CLOUD.get_or_init(start_cloud) {
        Ok(c) => c,
        Err(e) => panic!("the emulated cloud could not be started:\n{e}"),
    }
}

fn provision() -> Result<(), String> {
    let script = repo_root().join("tests/env/provision.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn start_cloud() -> Result<Cloud, String> {
    let t0 = Instant::now();
    provision()?;
    let env_dir = e2e_env_dir();
    let bin_dir = env_dir.join("bin");
    let python = env_dir.join("venv/bin/python");

    let tmp_root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(&tmp_root).map_err(|e| format!("{}: {e}", tmp_root.display()))?;
    clean_stale_run_dirs(&tmp_root);
    let run_dir = tmp_root.join(format!("hp-cloud-{}", std::process::id()));
    let _ = fs::remove_dir_all(&run_dir);
    fs::create_dir_all(&run_dir).map_err(|e| format!("{}: {e}", run_dir.display()))?;

    let mut children = Vec::new();

    // 1. the Kubernetes API emulator
    let kube_state = run_dir.join("kube.json");
    let kube = spawn_emulator(
        &python,
        &repo_root().join("tests/env/kube_emulator.py"),
        &kube_state,
        &run_dir.join("kube.log"),
        &[],
    )?;
    children.push(kube);
    let ks = wait_state(&kube_state, &mut children[0], &run_dir.join("kube.log"))?;
    let kube_url = str_field(&ks, "url")?;
    let kube_ca_file = PathBuf::from(str_field(&ks, "ca_file")?);
    let kube_ca_data = str_field(&ks, "ca_data")?;

    // 2. the AWS emulator, pointing EKS clusters at the kube emulator
    let aws_state = run_dir.join("aws.json");
    let aws = spawn_emulator(
        &python,
        &repo_root().join("tests/env/aws_emulator.py"),
        &aws_state,
        &run_dir.join("aws.log"),
        &[
            ("HP_KUBE_URL", kube_url.as_str()),
            ("HP_KUBE_CA_DATA", kube_ca_data.as_str()),
        ],
    )?;
    children.push(aws);
    let as_ = wait_state(&aws_state, &mut children[1], &run_dir.join("aws.log"))?;
    let aws_url = str_field(&as_, "url")?;

    let shim_dir = run_dir.join("shims");
    write_shims(&shim_dir, &bin_dir)?;

    if std::env::var_os("HP_E2E_VERBOSE").is_some() {
        eprintln!(
            "emulated cloud ready in {:.1}s: kube {kube_url}, aws {aws_url}",
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(Cloud {
        kube_url,
        kube_ca_file,
        kube_ca_data,
        aws_url,
        bin_dir,
        shim_dir,
        run_dir,
        children: Mutex::new(children),
    })
}

fn str_field(v: &Value, k: &str) -> Result<String, String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("state file lacks \"{k}\": {v}"))
}

fn spawn_emulator(
    python: &Path,
    script: &Path,
    state: &Path,
    log: &Path,
    env: &[(&str, &str)],
) -> Result<(Child, Option<ChildStdin>), String> {
    let _ = fs::remove_file(state);
    let logf = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let logf2 = logf.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg("--state-file")
        .arg(state)
        .args(["--port", "0", "--exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(logf)
        .stderr(logf2);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().map_err(|e| {
        format!(
            "cannot start {} {}: {e}",
            python.display(),
            script.display()
        )
    })?;
    let stdin = child.stdin.take();
    Ok((child, stdin))
}

fn wait_state(
    state: &Path,
    child: &mut (Child, Option<ChildStdin>),
    log: &Path,
) -> Result<Value, String> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(text) = fs::read_to_string(state) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                return Ok(v);
            }
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(format!(
                "emulator exited ({status}) before writing {}; its log ({}):\n{}",
                state.display(),
                log.display(),
                tail(&fs::read_to_string(log).unwrap_or_default(), 60)
            ));
        }
        if Instant::now() > deadline {
            let _ = child.0.kill();
            return Err(format!(
                "emulator did not write {} within {:?}; its log:\n{}",
                state.display(),
                START_TIMEOUT,
                tail(&fs::read_to_string(log).unwrap_or_default(), 60)
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Remove run directories of test processes that are gone (Linux: /proc).
fn clean_stale_run_dirs(root: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(pid) = name.strip_prefix("hp-cloud-") {
            if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// Bash shim: log the invocation to $HP_TOOL_LOG, inject failures, then exec the real tool.
fn shim_script(tool: &str, real: &Path) -> String {
    format!(
        r#"#!/usr/bin/env bash
# test shim for {tool}: records the call in $HP_TOOL_LOG, fails on $HP_FAIL_MATCH, else runs the real tool
if [[ -n "${{HP_TOOL_LOG:-}}" ]]; then
  line={tool}
  for a in "$@"; do
    a=${{a//\\/\\\\}}; a=${{a//$'\t'/\\t}}; a=${{a//$'\n'/\\n}}; a=${{a//$'\r'/\\r}}
    line+=$'\t'"$a"
  done
  printf '%s\n' "$line" >>"$HP_TOOL_LOG"
fi
if [[ -n "${{HP_FAIL_MATCH:-}}" ]]; then
  # one pattern per line: the call fails when its command line contains any of them
  joined="{tool} $*"
  while IFS= read -r pat; do
    if [[ -n "$pat" && "$joined" == *"$pat"* ]]; then
      printf 'injected failure: %s\n' "$joined" >&2
      exit "${{HP_FAIL_CODE:-1}}"
    fi
  done <<<"$HP_FAIL_MATCH"
fi
exec '{real}' "$@"
"#,
        tool = tool,
        real = real.display()
    )
}

fn write_shims(shim_dir: &Path, bin_dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(shim_dir).map_err(|e| format!("{}: {e}", shim_dir.display()))?;
    let git = which("git").unwrap_or_else(|| PathBuf::from("/usr/bin/git"));
    let tools: Vec<(&str, PathBuf)> = vec![
        ("aws", bin_dir.join("aws")),
        ("kubectl", bin_dir.join("kubectl")),
        ("helm", bin_dir.join("helm")),
        ("eksctl", bin_dir.join("eksctl")),
        ("git", git),
    ];
    for (tool, real) in tools {
        let p = shim_dir.join(tool);
        fs::write(&p, shim_script(tool, &real)).map_err(|e| format!("{}: {e}", p.display()))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

static SANDBOX_SEQ: AtomicUsize = AtomicUsize::new(0);

fn unique_id() -> String {
    // 6 chars of [a-z0-9], unique within the process, varied across processes.
    let n = SANDBOX_SEQ.fetch_add(1, Ordering::SeqCst) as u64;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = (std::process::id() as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(nanos.wrapping_mul(31))
        .wrapping_add(n.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    x ^= x >> 31;
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut s = String::new();
    // first char a letter
    s.push(ALPHA[(x % 26) as usize] as char);
    x /= 26;
    for _ in 0..4 {
        s.push(ALPHA[(x % 36) as usize] as char);
        x /= 36;
    }
    // last char from the sequence number so ids never repeat within a process
    s.push(ALPHA[(n % 36) as usize] as char);
    s
}

/// What a sandbox's clusters already have before the test runs (`tests/env/profiles.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A new HyperPod EKS cluster: two instance groups (ml.g5.8xlarge, ml.c5.2xlarge) with their
    /// nodes, HyperPod's `dependencies` Helm release (NVIDIA device plugin 0.16.1 ...), no
    /// cert-manager.
    Fresh,
    /// An empty cluster: one instance group, no nodes, nothing installed.
    Bare,
    /// `Fresh` + the EKS add-on metrics-server.
    MetricsServer,
    /// `Fresh` + the inference operator as the EKS add-on, with its dependency add-ons and roles.
    Addon,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Fresh => "fresh",
            Profile::Bare => "bare",
            Profile::MetricsServer => "metrics-server",
            Profile::Addon => "addon",
        }
    }
}

impl Cloud {
    /// A sandbox on a [`Profile::Fresh`] cluster (see [`Cloud::sandbox_with`]).
    pub fn sandbox(&self) -> Sandbox {
        self.sandbox_with(Profile::Fresh)
    }

    /// A new, isolated sandbox: an EKS cluster (its API served by its own cluster in the kube
    /// emulator) that already has what `profile` says, a HyperPod cluster orchestrated by it, an
    /// S3 bucket, and a temp dir holding HOME, the AWS config files, the kubeconfig (initially
    /// absent) and the tool log.
    pub fn sandbox_with(&self, profile: Profile) -> Sandbox {
        let id = unique_id();
        let hyperpod_cluster = format!("hp-{id}");
        let eks_cluster = format!("hp-{id}-eks");
        let bucket = format!("hp-{id}-tls");
        let tmp_root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let dir = tempfile::Builder::new()
            .prefix(&format!("hp-sbx-{id}-"))
            .tempdir_in(&tmp_root)
            .expect("sandbox temp dir");
        let seeded = aws_hook(
            &self.aws_url,
            "POST",
            "/_hp/seed",
            Some(&json!({
                "region": REGION,
                "eksCluster": eks_cluster,
                "hyperpodCluster": hyperpod_cluster,
                "bucket": bucket,
                "profile": profile.name(),
            })),
        )
        .unwrap_or_else(|e| panic!("seeding sandbox {id}: {e}"));
        let home = dir.path().join("home");
        fs::create_dir_all(&home).expect("sandbox HOME");
        let aws_dir = dir.path().join("aws");
        fs::create_dir_all(&aws_dir).expect("sandbox aws dir");
        fs::write(
            aws_dir.join("config"),
            format!("[default]\nregion = {REGION}\noutput = json\n"),
        )
        .expect("aws config");
        fs::write(
            aws_dir.join("credentials"),
            "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        )
        .expect("aws credentials");
        fs::write(dir.path().join("tools.log"), "").expect("tool log");
        Sandbox {
            hyperpod_cluster,
            eks_cluster,
            bucket,
            region: REGION.to_string(),
            account: ACCOUNT.to_string(),
            eks_cluster_arn: seeded["eksClusterArn"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            hyperpod_cluster_arn: seeded["hyperpodClusterArn"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            vpc_id: seeded["vpcId"].as_str().unwrap_or_default().to_string(),
            oidc_issuer: seeded["oidcIssuer"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            profile,
            nodes: seeded["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect(),
            dir,
            cloud: cloud(),
        }
    }
}

/// One command's outcome.
#[derive(Debug, Clone)]
pub struct Run {
    /// The command line, for messages.
    pub cmd: String,
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics (with the command, code, stdout and stderr) unless the exit code is 0.
    #[track_caller]
    pub fn success(&self) -> &Self {
        if self.code != 0 {
            panic!("command failed (exit {}):\n{}", self.code, self.describe());
        }
        self
    }

    /// Panics unless the command failed (non-zero exit).
    #[track_caller]
    pub fn failure(&self) -> &Self {
        if self.code == 0 {
            panic!("command unexpectedly succeeded:\n{}", self.describe());
        }
        self
    }

    /// Panics (showing the run) unless the exit code is `code`.
    #[track_caller]
    pub fn exits(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{}", self.describe());
        self
    }

    /// Panics (naming the first missing one, showing the run) unless stdout has every needle.
    #[track_caller]
    pub fn stdout_has(&self, needles: &[&str]) -> &Self {
        self.has("stdout", &self.stdout, needles)
    }

    /// Panics (naming the first missing one, showing the run) unless stderr has every needle.
    #[track_caller]
    pub fn stderr_has(&self, needles: &[&str]) -> &Self {
        self.has("stderr", &self.stderr, needles)
    }

    #[track_caller]
    fn has(&self, stream: &str, text: &str, needles: &[&str]) -> &Self {
        for n in needles {
            assert!(
                text.contains(n),
                "{stream} misses {n:?}\n{}",
                self.describe()
            );
        }
        self
    }

    /// stdout parsed as JSON (panics with the output when it is not JSON).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}):\n{}", self.describe());
        })
    }

    /// Human-readable summary of the run.
    pub fn describe(&self) -> String {
        format!(
            "$ {}\n[exit {}]\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmd, self.code, self.stdout, self.stderr
        )
    }
}

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
    dir: tempfile::TempDir,
    cloud: &'static Cloud,
}

/// Default time limit of one command (override with `HP_TEST_CMD_TIMEOUT` seconds).
fn cmd_timeout() -> Duration {
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

    /// Like [`Sandbox::hyperpod`], with extra environment variables (e.g. HP_FAIL_MATCH).
    pub fn hyperpod_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_kubectl-hyperpod"));
        run_command(
            self.command(&exe, args, extra_env),
            "kubectl-hyperpod",
            args,
        )
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
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--output", "json"]);
        let r = self.aws(&a);
        r.success();
        if r.stdout.trim().is_empty() {
            return Value::Null;
        }
        r.json()
    }

    /// The real kubectl (not recorded in the tool log).
    pub fn kubectl(&self, args: &[&str]) -> Run {
        self.direct("kubectl", args)
    }

    /// `kubectl ... -o json`, parsed; panics with stderr on failure.
    #[track_caller]
    pub fn kubectl_json(&self, args: &[&str]) -> Value {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["-o", "json"]);
        let r = self.kubectl(&a);
        r.success();
        r.json()
    }

    /// Creates an EKS add-on with the real aws CLI (not recorded) and waits until it is ACTIVE.
    pub fn create_addon(&self, name: &str, extra: &[&str]) {
        let mut args = vec![
            "eks",
            "create-addon",
            "--cluster-name",
            &self.eks_cluster,
            "--addon-name",
            name,
        ];
        args.extend(extra);
        self.aws(&args).success();
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
        let name = &self.eks_cluster_arn;
        let text = format!(
            "apiVersion: v1\nkind: Config\npreferences: {{}}\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: {name}\ncontexts:\n- context:\n    cluster: {name}\n    user: {name}\n  name: {name}\ncurrent-context: {name}\nusers:\n- name: {name}\n  user:\n    token: k8s-aws-v1.emulated-direct-token\n",
            ca = self.cloud.kube_ca_data,
            server = self.kube_server(),
        );
        fs::write(self.kubeconfig_path(), text).expect("write kubeconfig");
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

fn unescape(s: &str) -> String {
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

fn run_command(mut cmd: Command, name: &str, args: &[&str]) -> Run {
    let cmdline = std::iter::once(name.to_string())
        .chain(args.iter().map(|a| shell_quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmdline}: {e}"));
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let limit = cmd_timeout();
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    let out =
                        String::from_utf8_lossy(&t_out.join().unwrap_or_default()).to_string();
                    let err =
                        String::from_utf8_lossy(&t_err.join().unwrap_or_default()).to_string();
                    panic!(
                        "command timed out after {limit:?}:\n$ {cmdline}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
                    );
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("waiting for {cmdline}: {e}"),
        }
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).to_string();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).to_string();
    Run {
        cmd: cmdline,
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
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
const HTTPS_HELPER: &str = r#"
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

fn https_request(
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

/// Polls `f` until it returns Some, or panics after `timeout` with `what`.
#[track_caller]
pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A JSON object's string at a dotted path (`"metadata.annotations.x"` does not work for
/// keys with dots: use `v["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]`).
pub fn jstr<'a>(v: &'a Value, path: &str) -> &'a str {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_str().unwrap_or("")
}

/// Map of a kube object's annotations.
pub fn annotations(obj: &Value) -> BTreeMap<String, String> {
    obj["metadata"]["annotations"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

// =============================================================================================
// Shared by the setup and teardown end-to-end tests: which tool invocations changed something,
// and the state of the emulated cloud as one comparable value.
// =============================================================================================

/// Global flags that take their value as the next argument (so it is no sub-command word).
const FLAGS_WITH_VALUES: &[&str] = &[
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
fn command_words(cmd: &[String]) -> Vec<&str> {
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
fn flag_value<'a>(cmd: &'a [String], flag: &str) -> Option<&'a str> {
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
