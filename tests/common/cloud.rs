//! The emulated cloud of a test binary: tools provisioned once, the two emulators started once,
//! the tool shims, and the cluster profiles sandboxes start from.

use super::*;

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
    pub(crate) children: Mutex<Vec<(Child, Option<ChildStdin>)>>,
}

pub(crate) static CLOUD: OnceLock<Result<Cloud, String>> = OnceLock::new();

/// The emulated cloud of this test binary, started on first use. Panics (never skips) when the
/// tools cannot be provisioned or an emulator does not come up.
pub fn cloud() -> &'static Cloud {
    match CLOUD.get_or_init(start_cloud) {
        Ok(c) => c,
        Err(e) => panic!("the emulated cloud could not be started:\n{e}"),
    }
}

pub(crate) fn provision() -> Result<(), String> {
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

pub(crate) fn start_cloud() -> Result<Cloud, String> {
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

pub(crate) fn str_field(v: &Value, k: &str) -> Result<String, String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("state file lacks \"{k}\": {v}"))
}

pub(crate) fn spawn_emulator(
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

pub(crate) fn wait_state(
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

pub(crate) fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Remove run directories of test processes that are gone (Linux: /proc).
pub(crate) fn clean_stale_run_dirs(root: &Path) {
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

pub(crate) fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// Bash shim: log the invocation to $HP_TOOL_LOG, inject failures, then exec the real tool.
/// With `HP_TOOL_TIMES` set (benchmarks only) it runs the tool as a child instead and appends
/// `start<TAB>end<TAB>exit<TAB>logged line` (`EPOCHREALTIME` seconds) to that file; a `--watch`
/// (stopped by a kill the shim would not pass on) is still exec'd: start = end, exit `watch`.
pub(crate) fn shim_script(tool: &str, real: &Path) -> String {
    format!(
        r#"#!/usr/bin/env bash
# test shim for {tool}: records the call in $HP_TOOL_LOG, fails on $HP_FAIL_MATCH, else runs the real tool
if [[ -n "${{HP_TOOL_LOG:-}}${{HP_TOOL_TIMES:-}}" ]]; then
  line={tool}
  for a in "$@"; do
    a=${{a//\\/\\\\}}; a=${{a//$'\t'/\\t}}; a=${{a//$'\n'/\\n}}; a=${{a//$'\r'/\\r}}
    line+=$'\t'"$a"
  done
fi
if [[ -n "${{HP_TOOL_LOG:-}}" ]]; then
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
if [[ -n "${{HP_TOOL_TIMES:-}}" && " $* " == *" --watch "* ]]; then
  # a watch is stopped by killing this process: exec it (as without timing), record its start
  printf '%s\t%s\t%s\t%s\n' "$EPOCHREALTIME" "$EPOCHREALTIME" watch "$line" >>"$HP_TOOL_TIMES"
elif [[ -n "${{HP_TOOL_TIMES:-}}" ]]; then
  t0=$EPOCHREALTIME
  '{real}' "$@"
  rc=$?
  printf '%s\t%s\t%s\t%s\n' "$t0" "$EPOCHREALTIME" "$rc" "$line" >>"$HP_TOOL_TIMES"
  exit "$rc"
fi
exec '{real}' "$@"
"#,
        tool = tool,
        real = real.display()
    )
}

pub(crate) fn write_shims(shim_dir: &Path, bin_dir: &Path) -> Result<(), String> {
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

pub(crate) static SANDBOX_SEQ: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn unique_id() -> String {
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
        self.sandbox_in(profile, &PathBuf::from(env!("CARGO_TARGET_TMPDIR")))
    }

    /// [`Cloud::sandbox_with`], its temp dir in `parent` (a shared sandbox's in the cloud's
    /// run dir, which the next run removes: a static is never dropped).
    pub fn sandbox_in(&self, profile: Profile, parent: &Path) -> Sandbox {
        let id = unique_id();
        let hyperpod_cluster = format!("hp-{id}");
        let eks_cluster = format!("hp-{id}-eks");
        let bucket = format!("hp-{id}-tls");
        let dir = new_sandbox_dir(&id, parent);
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

/// A sandbox's temp dir in `parent`: HOME, the AWS config files, an empty tool log.
pub(crate) fn new_sandbox_dir(id: &str, parent: &Path) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("hp-sbx-{id}-"))
        .tempdir_in(parent)
        .expect("sandbox temp dir");
    fs::create_dir_all(dir.path().join("home")).expect("sandbox HOME");
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
    dir
}
